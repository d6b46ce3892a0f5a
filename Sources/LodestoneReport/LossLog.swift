import Foundation
import LodestoneBase

/// One row of `loss.csv`: every optimizer step, failed epochs included (their rows show what went wrong).
public struct LossRow: StepRow, Equatable, Sendable {
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

    public static let header = "step,cycle,chunk,epoch,loss,loss_avg,lr"

    public var csv: String {
        "\(step),\(cycle),\(chunk),\(epoch),\(format(loss)),\(format(lossAverage)),\(format(learningRate))"
    }

    private func format(_ x: Double) -> String { csvNumber(x) }

    public init?(csvLine: Substring) {
        let f = csvLine.split(separator: ",", omittingEmptySubsequences: false)
        guard f.count == 7, let s = Int(f[0]), let c = Int(f[1]), let k = Int(f[2]), let e = Int(f[3]) else { return nil }
        guard let l = csvNumber(f[4]), let a = csvNumber(f[5]), let r = csvNumber(f[6]) else { return nil }
        self.init(step: s, cycle: c, chunk: k, epoch: e, loss: l, lossAverage: a, learningRate: r)
    }
}

/// A row of a per-step CSV log: its step decides what a resumed run keeps.
public protocol StepRow {
    static var header: String { get }
    var step: Int { get }
    var csv: String { get }
    init?(csvLine: Substring)
}

/// `%.6g`, with nan/inf spelled as Python's csv readers take them.
func csvNumber(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : (x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf")) }
func csvNumber(_ t: Substring) -> Double? { t == "nan" ? .nan : t == "inf" ? .infinity : t == "-inf" ? -.infinity : Double(t) }

/// `loss.csv`: one row per step.
public typealias LossLog = StepLog<LossRow>

/// A CSV log appended as training runs (`loss.csv`, `eval.csv`). On resume the rows after the checkpoint's step
/// are dropped first, so a run killed with `kill -9` and resumed leaves each row once.
public final class StepLog<Row: StepRow> {
    public let url: URL
    private var sink: FileSink?
    private var pending = ""

    /// Opens (creating) `url`, keeping only rows with `step <= keepThrough` (nil keeps nothing: a fresh run).
    public init(url: URL, keepThrough: Int?) throws {
        self.url = url
        var kept = Row.header + "\n"
        if let keepThrough, let text = try? String(contentsOf: url, encoding: .utf8) {
            for line in text.split(separator: "\n").dropFirst() {
                if let row = Row(csvLine: line), row.step <= keepThrough { kept += line + "\n" }
            }
        }
        try AtomicFile.write(Data(kept.utf8), to: url)
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.last(path: url.path, action: "cannot write") }
        sink = FileSink(fd: fd, path: url.path)
    }

    /// Buffers a row; full buffers go out on their own (a failure there is retried by the next `flush`).
    public func append(_ row: Row) {
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

    /// Every row of such a file (for the plot and summaries).
    public static func read(_ url: URL) throws -> [Row] {
        let text = String(decoding: try readWholeFile(url.path), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().compactMap { Row(csvLine: $0) }
    }
}
