import Foundation

/// `train_logs.txt`, one line per epoch attempt, exactly as the original wrote them:
/// `Succeeded on Cycle {c}, Chunk {k}, Epoch {e}: {steps} Steps Completed in Total` or `Failed on …`.
/// Cycle, chunk and epoch count from 0 (the original's `range` loops); steps are those of succeeded epochs.
public final class TrainLog {
    public let url: URL
    public private(set) var lineCount = 0

    /// Opens the log keeping its first `keepLines` lines (0 for a fresh run): lines written after the last
    /// checkpoint by a killed run are dropped, because the resumed run writes them again.
    public init(url: URL, keepLines: Int) throws {
        self.url = url
        var kept: [Substring] = []
        if keepLines > 0, let text = try? String(contentsOf: url, encoding: .utf8) {
            kept = Array(text.split(separator: "\n", omittingEmptySubsequences: true).prefix(keepLines))
        }
        try Data(kept.map { $0 + "\n" }.joined().utf8).write(to: url, options: .atomic)
        lineCount = kept.count
    }

    public static func line(succeeded: Bool, cycle: Int, chunk: Int, epoch: Int, steps: Int) -> String {
        "\(succeeded ? "Succeeded" : "Failed") on Cycle \(cycle), Chunk \(chunk), Epoch \(epoch): \(steps) Steps Completed in Total"
    }

    public func append(_ line: String) throws {
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((line + "\n").utf8))
        try handle.synchronize()
        lineCount += 1
    }
}
