import Foundation
import LodestoneBase

/// `train_logs.txt`, one line per epoch attempt, exactly as the original wrote them:
/// `Succeeded on Cycle {c}, Chunk {k}, Epoch {e}: {steps} Steps Completed in Total` or `Failed on …`.
/// Cycle, chunk and epoch count from 0 (the original's `range` loops); steps are those of succeeded epochs.
/// A line is appended only after the checkpoint that records it is durable, so the log never claims more
/// than a resumed run would find.
public final class TrainLog {
    public let url: URL
    public private(set) var lineCount = 0

    /// Opens the log keeping its first `keepLines` lines (0 for a fresh run): lines written after the last
    /// checkpoint by a killed run are dropped, because the resumed run writes them again. `lastLine` is the
    /// checkpoint's own record of line `keepLines`, restored when a kill came between checkpoint and append.
    public init(url: URL, keepLines: Int, lastLine: String? = nil) throws {
        self.url = url
        var kept: [Substring] = []
        if keepLines > 0, let text = try? String(contentsOf: url, encoding: .utf8) {
            kept = Array(text.split(separator: "\n", omittingEmptySubsequences: true).prefix(keepLines))
        }
        if keepLines > 0, let lastLine { kept = Array(kept.prefix(keepLines - 1)) + [Substring(lastLine)] }
        try AtomicFile.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: url)
        lineCount = kept.count
    }

    public static func line(succeeded: Bool, cycle: Int, chunk: Int, epoch: Int, steps: Int) -> String {
        "\(succeeded ? "Succeeded" : "Failed") on Cycle \(cycle), Chunk \(chunk), Epoch \(epoch): \(steps) Steps Completed in Total"
    }

    /// Appends one line and fsyncs it.
    public func append(_ line: String) throws {
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.last(path: url.path, action: "cannot write") }
        let sink = FileSink(fd: fd, path: url.path)
        try sink.write(line + "\n")
        if fsync(fd) != 0 { throw FileSystemError.last(path: url.path, action: "cannot write") }
        try sink.close()
        lineCount += 1
    }
}
