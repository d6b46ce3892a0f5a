import Foundation

/// One row of `loss.csv`: every optimizer step, failed epochs included (their rows show what went wrong).
public struct LossRow: Equatable, Sendable {
    public var step: Int
    public var cycle: Int
    public var chunk: Int
    public var epoch: Int
    public var loss: Double
    public var lossAverage: Double
    public var learningRate: Double

    public init(step: Int, cycle: Int, chunk: Int, epoch: Int, loss: Double, lossAverage: Double, learningRate: Double) {
        self.step = step; self.cycle = cycle; self.chunk = chunk; self.epoch = epoch
        self.loss = loss; self.lossAverage = lossAverage; self.learningRate = learningRate
    }

    static let header = "step,cycle,chunk,epoch,loss,loss_avg,lr"

    var csv: String {
        "\(step),\(cycle),\(chunk),\(epoch),\(format(loss)),\(format(lossAverage)),\(format(learningRate))"
    }

    private func format(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : (x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf")) }

    init?(csvLine: Substring) {
        let f = csvLine.split(separator: ",", omittingEmptySubsequences: false)
        guard f.count == 7, let s = Int(f[0]), let c = Int(f[1]), let k = Int(f[2]), let e = Int(f[3]) else { return nil }
        func num(_ t: Substring) -> Double? { t == "nan" ? .nan : t == "inf" ? .infinity : t == "-inf" ? -.infinity : Double(t) }
        guard let l = num(f[4]), let a = num(f[5]), let r = num(f[6]) else { return nil }
        self.init(step: s, cycle: c, chunk: k, epoch: e, loss: l, lossAverage: a, learningRate: r)
    }
}

/// `loss.csv`, appended as training runs. On resume the rows after the checkpoint's step are dropped first,
/// so a run killed with `kill -9` and resumed leaves each step once.
public final class LossLog {
    public let url: URL
    private var handle: FileHandle?
    private var pending = ""

    /// Opens (creating) `url`, keeping only rows with `step <= keepThrough` (nil keeps nothing: a fresh run).
    public init(url: URL, keepThrough: Int?) throws {
        self.url = url
        var kept = LossRow.header + "\n"
        if let keepThrough, let text = try? String(contentsOf: url, encoding: .utf8) {
            for line in text.split(separator: "\n").dropFirst() {
                if let row = LossRow(csvLine: line), row.step <= keepThrough { kept += line + "\n" }
            }
        }
        try Data(kept.utf8).write(to: url, options: .atomic)
        handle = try FileHandle(forWritingTo: url)
        try handle?.seekToEnd()
    }

    public func append(_ row: LossRow) {
        pending += row.csv + "\n"
        if pending.utf8.count > 1 << 14 { flush() }
    }

    public func flush() {
        guard !pending.isEmpty else { return }
        try? handle?.write(contentsOf: Data(pending.utf8))
        pending = ""
    }

    public func close() { flush(); try? handle?.close(); handle = nil }

    deinit { close() }

    /// Every row of a `loss.csv` file (for the plot and summaries).
    public static func read(_ url: URL) throws -> [LossRow] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").dropFirst().compactMap { LossRow(csvLine: $0) }
    }
}
