import Foundation
import LodestoneBase

/// One row of `eval.csv`: one metric of one evaluation set after a succeeded epoch (04-training --eval).
public struct EvalRow: StepRow, Equatable, Sendable {
    public var step: Int
    public var cycle: Int
    public var chunk: Int
    public var epoch: Int
    /// The evaluation set as given on the command line.
    public var data: String
    public var metric: String
    public var value: Double
    /// Whether `metric` is the set's headline number (nDCG@10, Spearman, MRR@10): the one plotted and ranked.
    public var primary: Bool

    public init(step: Int, cycle: Int, chunk: Int, epoch: Int, data: String, metric: String, value: Double, primary: Bool) {
        self.step = step; self.cycle = cycle; self.chunk = chunk; self.epoch = epoch
        self.data = data; self.metric = metric; self.value = value; self.primary = primary
    }

    public static let header = "step,cycle,chunk,epoch,data,metric,value,primary"

    /// Paths with commas or quotes are quoted as CSV readers expect.
    public var csv: String {
        let quoted = data.contains(",") || data.contains("\"") ? "\"" + data.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : data
        return "\(step),\(cycle),\(chunk),\(epoch),\(quoted),\(metric),\(csvNumber(value)),\(primary ? 1 : 0)"
    }

    public init?(csvLine: Substring) {
        var fields: [String] = [], field = "", quoted = false
        var chars = csvLine.makeIterator()
        while let c = chars.next() {
            if quoted {
                if c == "\"" { quoted = false } else { field.append(c) }
            } else if c == "\"" {
                if !field.isEmpty { field.append(c) }   // "" inside a quoted field: a literal quote
                quoted = true
            } else if c == "," { fields.append(field); field = "" } else { field.append(c) }
        }
        fields.append(field)
        guard fields.count == 8, let s = Int(fields[0]), let c = Int(fields[1]), let k = Int(fields[2]),
              let e = Int(fields[3]), let v = csvNumber(Substring(fields[6])) else { return nil }
        self.init(step: s, cycle: c, chunk: k, epoch: e, data: fields[4], metric: fields[5], value: v, primary: fields[7] == "1")
    }
}

extension EvalRow {
    /// The width a Matryoshka run scored this metric at: sentence-transformers' prefix `dim_<d>_` on the metric
    /// name (what its evaluators with `truncate_dim` and `name=f"dim_{d}"` report); nil for the full embedding.
    public var dimension: Int? {
        guard metric.hasPrefix("dim_"), let end = metric.dropFirst(4).firstIndex(of: "_") else { return nil }
        return Int(metric[metric.index(metric.startIndex, offsetBy: 4)..<end])
    }

    /// The metric's name without the width prefix.
    public var baseMetric: String {
        guard let d = dimension else { return metric }
        return String(metric.dropFirst("dim_\(d)_".count))
    }

    /// `name` as a row of a result scored at `dimension` names it.
    public static func metricName(_ name: String, dimension: Int?) -> String { dimension.map { "dim_\($0)_\(name)" } ?? name }
}

/// `eval.csv`: the metrics of every evaluation set after every succeeded epoch.
public typealias EvalLog = StepLog<EvalRow>

extension Array where Element == EvalRow {
    /// The epoch whose first evaluation set scored best on its primary metric (higher is better for all of them);
    /// of a Matryoshka run, at its first (largest) width.
    public var best: EvalRow? {
        let primaries = filter(\.primary)
        guard let first = primaries.first else { return nil }
        return primaries.filter { $0.data == first.data && $0.metric == first.metric && $0.value.isFinite }
            .reduce(nil as EvalRow?) { best, row in best.map { row.value > $0.value ? row : $0 } ?? row }
    }
}
