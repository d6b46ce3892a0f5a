import Foundation
import LodestoneBase

/// Renders `loss.csv` rows as one SVG with two panels sharing the step axis: loss (each step faint, moving
/// average bold) above, learning rate below. Plain SVG 1.1, so any browser shows it.
public enum LossPlot {
    public static func svg(rows: [LossRow], title: String = "Lodestone training", maxPoints: Int = 1500) -> String {
        let width = 900.0, panelHeight = 260.0, left = 70.0, right = 20.0, top = 40.0, gap = 50.0
        let plotWidth = width - left - right
        let height = top + 2 * panelHeight + gap + 40
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="22" font-size="15">\(escape(title))</text>

        """
        let shown = thin(rows, to: maxPoints)
        let steps = shown.map { Double($0.step) }
        let xMin = steps.min() ?? 0, xMax = max((steps.max() ?? 1), xMin + 1)
        func x(_ step: Double) -> Double { left + (step - xMin) / (xMax - xMin) * plotWidth }

        func panel(top y0: Double, label: String, series: [(values: [Double], color: String, width: Double, opacity: Double)]) {
            let finite = series.flatMap { $0.values }.filter { $0.isFinite }
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
                for (i, v) in s.values.enumerated() {
                    guard v.isFinite else { pen = false; continue }
                    path += (pen ? "L" : "M") + "\(fmt(x(steps[i]))),\(fmt(y(v))) "
                    pen = true
                }
                out += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"\(s.width)\" stroke-opacity=\"\(s.opacity)\"/>\n"
            }
        }
        panel(top: top, label: "loss", series: [(shown.map(\.loss), "#7aa6d6", 1, 0.5),
                                              (shown.map(\.lossAverage), "#1f4e8c", 2, 1)])
        let lrTop = top + panelHeight + gap
        panel(top: lrTop, label: "learning rate", series: [(shown.map(\.learningRate), "#c0504d", 1.5, 1)])
        for i in 0...4 {
            let s = xMin + (xMax - xMin) * Double(i) / 4
            out += "<text x=\"\(fmt(x(s)))\" y=\"\(lrTop + panelHeight + 18)\" text-anchor=\"middle\">\(Int(s.rounded()))</text>\n"
        }
        out += "<text x=\"\(left + plotWidth / 2)\" y=\"\(lrTop + panelHeight + 36)\" text-anchor=\"middle\">step</text>\n"
        if rows.isEmpty { out += "<text x=\"\(left + 20)\" y=\"\(top + 30)\">no steps yet</text>\n" }
        out += "</svg>\n"
        return out
    }

    /// Writes the plot of `rows` atomically.
    public static func write(rows: [LossRow], to url: URL, title: String = "Lodestone training") throws {
        try AtomicFile.write(Data(svg(rows: rows, title: title).utf8), to: url, durable: false)
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
