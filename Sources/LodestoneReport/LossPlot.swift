import Foundation
import LodestoneBase

/// Renders `loss.csv` rows as one SVG with panels sharing the step axis: loss (each step faint, moving average
/// bold), learning rate, and — when `eval.csv` has rows — each evaluation set's primary metric after every
/// succeeded epoch (one panel per width of a Matryoshka run). Plain SVG 1.1, so any browser shows it.
public enum LossPlot {
    static let evalColors = ["#2e7d32", "#8e24aa", "#ef6c00", "#00838f", "#6d4c41"]

    public static func svg(rows: [LossRow], evals: [EvalRow] = [], title: String = "Lodestone training",
                           maxPoints: Int = 1500) -> String {
        let width = 900.0, panelHeight = 260.0, left = 70.0, right = 20.0, top = 40.0, gap = 50.0
        let plotWidth = width - left - right
        let primaries = evals.filter(\.primary)
        // One evaluation panel per width a Matryoshka run scored (dim_<d>_ metrics), in the order first scored.
        var widths: [Int?] = []
        for row in primaries where !widths.contains(row.dimension) { widths.append(row.dimension) }
        let panels = 2.0 + Double(widths.count)
        let height = top + panels * panelHeight + (panels - 1) * gap + 40
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="22" font-size="15">\(escape(title))</text>

        """
        let shown = thin(rows, to: maxPoints)
        let steps = shown.map { Double($0.step) }
        let allSteps = steps + primaries.map { Double($0.step) }
        let xMin = allSteps.min() ?? 0, xMax = max((allSteps.max() ?? 1), xMin + 1)
        func x(_ step: Double) -> Double { left + (step - xMin) / (xMax - xMin) * plotWidth }

        typealias Series = (points: [(x: Double, y: Double)], color: String, width: Double, opacity: Double)
        func along(_ values: [Double]) -> [(x: Double, y: Double)] { zip(steps, values).map { ($0, $1) } }
        func panel(top y0: Double, label: String, series: [Series], markers: Bool = false) {
            let finite = series.flatMap { $0.points.map(\.y) }.filter { $0.isFinite }
            var lo = finite.min() ?? 0, hi = finite.max() ?? 1
            if hi - lo < 1e-12 { lo -= 0.5; hi += 0.5 }
            func y(_ v: Double) -> Double { y0 + panelHeight - (v - lo) / (hi - lo) * panelHeight }
            out += "<rect x=\"\(left)\" y=\"\(y0)\" width=\"\(plotWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#888\"/>\n"
            out += "<text x=\"12\" y=\"\(y0 + panelHeight / 2)\" transform=\"rotate(-90 12 \(y0 + panelHeight / 2))\" text-anchor=\"middle\">\(label)</text>\n"
            for i in 0...4 {
                let v = lo + (hi - lo) * Double(i) / 4
                out += "<text x=\"\(left - 6)\" y=\"\(fmt(y(v) + 4))\" text-anchor=\"end\">\(tick(v))</text>\n"
                out += "<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(fmt(y(v)))\" y2=\"\(fmt(y(v)))\" stroke=\"#eee\"/>\n"
            }
            for s in series {
                var path = "", pen = false
                for p in s.points {
                    guard p.y.isFinite else { pen = false; continue }
                    path += (pen ? "L" : "M") + "\(fmt(x(p.x))),\(fmt(y(p.y))) "
                    pen = true
                    if markers { out += "<circle cx=\"\(fmt(x(p.x)))\" cy=\"\(fmt(y(p.y)))\" r=\"3\" fill=\"\(s.color)\"/>\n" }
                }
                out += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"\(s.width)\" stroke-opacity=\"\(s.opacity)\"/>\n"
            }
        }
        panel(top: top, label: "loss", series: [(along(shown.map(\.loss)), "#7aa6d6", 1, 0.5),
                                              (along(shown.map(\.lossAverage)), "#1f4e8c", 2, 1)])
        var bottom = top + panelHeight + gap
        panel(top: bottom, label: "learning rate", series: [(along(shown.map(\.learningRate)), "#c0504d", 1.5, 1)])
        for width in widths {
            let rows = primaries.filter { $0.dimension == width }
            bottom += panelHeight + gap
            var sets: [String] = []
            for row in rows where !sets.contains(row.data) { sets.append(row.data) }
            let series: [Series] = sets.enumerated().map { i, data in
                (rows.filter { $0.data == data }.map { (Double($0.step), $0.value) }, evalColors[i % evalColors.count], 1.5, 1)
            }
            panel(top: bottom, label: width.map { "evaluation, \($0) dims" } ?? "evaluation", series: series, markers: true)
            for (i, data) in sets.enumerated() {
                let metric = rows.first { $0.data == data }!.baseMetric
                out += "<text x=\"\(left + 8)\" y=\"\(bottom + 16 + 14 * Double(i))\" fill=\"\(evalColors[i % evalColors.count])\">\(escape(data)): \(escape(metric))</text>\n"
            }
        }
        for i in 0...4 {
            let s = xMin + (xMax - xMin) * Double(i) / 4
            out += "<text x=\"\(fmt(x(s)))\" y=\"\(bottom + panelHeight + 18)\" text-anchor=\"middle\">\(Int(s.rounded()))</text>\n"
        }
        out += "<text x=\"\(left + plotWidth / 2)\" y=\"\(bottom + panelHeight + 36)\" text-anchor=\"middle\">step</text>\n"
        if rows.isEmpty { out += "<text x=\"\(left + 20)\" y=\"\(top + 30)\">no steps yet</text>\n" }
        out += "</svg>\n"
        return out
    }

    /// Writes the plot of `rows` atomically.
    public static func write(rows: [LossRow], evals: [EvalRow] = [], to url: URL, title: String = "Lodestone training") throws {
        try AtomicFile.write(Data(svg(rows: rows, evals: evals, title: title).utf8), to: url, durable: false)
    }

    /// At most `n` rows, evenly spaced, always keeping the last (a 2M-step run stays a small file).
    static func thin(_ rows: [LossRow], to n: Int) -> [LossRow] {
        guard rows.count > n, n > 1 else { return rows }
        let stride = Double(rows.count - 1) / Double(n - 1)
        return (0..<n).map { rows[Int((Double($0) * stride).rounded())] }
    }

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
    static func tick(_ v: Double) -> String { abs(v) < 1e-2 && v != 0 ? String(format: "%.1e", v) : String(format: "%.3g", v) }
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
