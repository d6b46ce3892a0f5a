import Foundation
import LodestoneBase

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
    private var sink: FileSink?
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
        try AtomicFile.write(Data(kept.utf8), to: url)
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.last(path: url.path, action: "cannot write") }
        sink = FileSink(fd: fd, path: url.path)
    }

    /// Buffers a row; full buffers go out on their own (a failure there is retried by the next `flush`).
    public func append(_ row: LossRow) {
        pending += row.csv + "\n"
        if pending.utf8.count > 1 << 14 { try? flush() }
    }

    /// Writes the buffered rows; `durable` also fsyncs them (before a checkpoint that counts them).
    public func flush(durable: Bool = false) throws {
        guard let sink else { return }
        if !pending.isEmpty {
            try sink.write(pending)
            pending = ""
        }
        if durable, fsync(sink.fd) != 0 { throw FileSystemError.last(path: url.path, action: "cannot write") }
    }

    public func close() { try? flush(); try? sink?.close(); sink = nil }

    deinit { close() }

    /// Every row of a `loss.csv` file (for the plot and summaries).
    public static func read(_ url: URL) throws -> [LossRow] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").dropFirst().compactMap { LossRow(csvLine: $0) }
    }
}
