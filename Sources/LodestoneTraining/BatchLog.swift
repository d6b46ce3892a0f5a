// `04-training --log-batches FILE`: every step's batch as the loss received it, one JSON line per step, so the
// step's loss can be recomputed elsewhere (Scripts/check-first-step.sh does it with sentence-transformers).
//   {"step": 1, "file": "data/AllNLI.json.gz", "columns": [[anchors…], [positives…], [negatives…]]}
// Steps are numbered as in loss.csv (failed epochs' steps included). A resumed run cuts the file back to the
// checkpoint's step, as loss.csv is, so each step appears once.
import Foundation
import LodestoneBase

public final class BatchLog {
    public let url: URL
    private var sink: FileSink?
    private var pending = Data()

    /// Opens `url` for appending. `keepThrough` nil (a fresh run) empties it; a step count keeps the lines of
    /// steps up to it and cuts off the rest, a torn last line included (a killed run's unflushed or later steps).
    public init(url: URL, keepThrough: Int?) throws {
        self.url = url
        if let keepThrough, Self.isRegularFile(url.path) {
            try Self.cut(url.path, after: keepThrough)
        } else {
            try AtomicFile.write(Data(), to: url)   // a character device or FIFO is written through, not replaced
        }
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemError.last(path: url.path, action: "cannot write") }
        sink = FileSink(fd: fd, path: url.path)
    }

    deinit { try? flush(); try? sink?.close() }

    /// The line of one step: step first, so that a resume reads only a line's first bytes.
    public static func line(step: Int, file: String, columns: [[String]]) -> String {
        let key = try! JSONSerialization.data(withJSONObject: [file], options: [.withoutEscapingSlashes])
        let texts = try! JSONSerialization.data(withJSONObject: columns, options: [.withoutEscapingSlashes])
        return "{\"step\": \(step), \"file\": \(String(decoding: key.dropFirst().dropLast(), as: UTF8.self)), \"columns\": \(String(decoding: texts, as: UTF8.self))}\n"
    }

    /// Buffers a step's line; a full buffer goes out on its own (a failure there is retried by the next `flush`).
    public func append(step: Int, file: String, columns: [[String]]) {
        pending.append(contentsOf: Self.line(step: step, file: file, columns: columns).utf8)
        if pending.count > 1 << 16 { try? flush() }
    }

    /// Writes the buffered lines; `durable` also fsyncs them (before a checkpoint that counts their steps).
    public func flush(durable: Bool = false) throws {
        guard let sink else { return }
        if !pending.isEmpty {
            try sink.write(pending)
            pending.removeAll(keepingCapacity: true)
        }
        if durable, Self.isRegularFile(url.path), fsync(sink.fd) != 0 { throw FileSystemError.last(path: url.path, action: "cannot write") }
    }

    /// The step a line begins with (`{"step": N, …`), nil for anything else.
    static func step(ofLineStart bytes: some Collection<UInt8>) -> Int? {
        let prefix = Array("{\"step\": ".utf8)
        guard bytes.starts(with: prefix) else { return nil }
        let digits = bytes.dropFirst(prefix.count).prefix { $0 >= 48 && $0 <= 57 }
        guard !digits.isEmpty, digits.count < 19 else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }

    /// Cuts the file after its last whole line of a step ≤ `keep`, reading backwards from the end: lines are in
    /// step order, so only the lines to drop (a few, after a kill) are read, however long the log is.
    static func cut(_ path: String, after keep: Int) throws {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.last(path: path, action: "cannot open") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileSystemError.last(path: path, action: "cannot read") }
        // A torn last line (no newline) is dropped with the lines after the checkpoint.
        var end = try lastNewline(fd, path, before: Int(st.st_size)).map { $0 + 1 } ?? 0
        while end > 0 {
            let start = try lastNewline(fd, path, before: end - 1).map { $0 + 1 } ?? 0
            var head = [UInt8](repeating: 0, count: min(32, end - start))
            guard pread(fd, &head, head.count, off_t(start)) == head.count else { throw FileSystemError.last(path: path, action: "cannot read") }
            if let step = step(ofLineStart: head), step <= keep { break }
            end = start
        }
        if Int(st.st_size) != end, ftruncate(fd, off_t(end)) != 0 { throw FileSystemError.last(path: path, action: "cannot write") }
    }

    /// The offset of the last newline before `offset`, nil when there is none.
    private static func lastNewline(_ fd: Int32, _ path: String, before offset: Int) throws -> Int? {
        var block = [UInt8](repeating: 0, count: 1 << 16)
        var upper = offset
        while upper > 0 {
            let lower = max(0, upper - block.count)
            let n = pread(fd, &block, upper - lower, off_t(lower))
            guard n == upper - lower else { throw FileSystemError.last(path: path, action: "cannot read") }
            if let i = block[0..<n].lastIndex(of: 10) { return lower + i }
            upper = lower
        }
        return nil
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }
}
