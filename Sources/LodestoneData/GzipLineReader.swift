import Foundation
import LodestoneBase
import LodestoneStorage

/// Streams the lines of a gzip object: inflate through zlib (concatenated members read
/// to the end, each member's CRC checked) into a fixed window, split with `memchr`. Memory stays bounded by the window (plus the
/// longest line); a 100 GB object streams like a 1 KB one.
///
/// Lines come without their `\n` and a trailing `\r` (CRLF files). Errors name the object and the
/// compressed byte offset where inflate failed, so a corrupt or truncated file gives one clear line.
public final class GzipLineReader {
    public let name: String
    /// 1-based number of the line last returned.
    public private(set) var lineNumber = 0
    /// Compressed bytes consumed so far (the offset reported in errors).
    public var compressedOffset: Int64 { bytesRead - Int64(inflater.availableInput) }
    /// Uncompressed bytes produced so far.
    public private(set) var uncompressedBytes: Int64 = 0

    private let source: ByteReader
    private let inflater: ZlibInflater
    private let input: UnsafeMutableRawBufferPointer
    private var window: UnsafeMutableRawBufferPointer
    private var start = 0, end = 0, scanned = 0          // unconsumed bytes are window[start..<end]
    private var bytesRead: Int64 = 0
    private var sourceDone = false, memberOpen = false, finished = false
    private let maxLineLength: Int

    /// - Parameters:
    ///   - source: the compressed bytes (closed when the reader is deinitialised or `close()` is called).
    ///   - name: used in errors, e.g. the object key.
    ///   - maxLineLength: longest line accepted before an `InputError` (memory bound).
    public init(_ source: ByteReader, name: String, windowSize: Int = 1 << 20, inputSize: Int = 1 << 18,
                maxLineLength: Int = 256 << 20) throws {
        self.source = source
        self.name = name
        self.maxLineLength = maxLineLength
        input = .allocate(byteCount: inputSize, alignment: 64)
        window = .allocate(byteCount: max(windowSize, 64), alignment: 64)
        inflater = try ZlibInflater()
    }

    deinit {
        input.deallocate()
        window.deallocate()
        source.close()
    }

    public func close() { source.close() }

    /// The next line, valid until the next call; nil at the end of the stream.
    public func nextLine() throws -> UnsafeRawBufferPointer? {
        while true {
            let base = window.baseAddress!
            if scanned < end, let nl = memchr(base + scanned, 0x0A, end - scanned) {
                let lineEnd = base.distance(to: nl)
                let line = trimCR(base + start, lineEnd - start)
                start = lineEnd + 1
                scanned = start
                lineNumber += 1
                return line
            }
            scanned = end
            if finished {
                guard start < end else { return nil }
                let line = trimCR(base + start, end - start)
                start = end
                lineNumber += 1
                return line
            }
            try refill()
        }
    }

    /// The next line as bytes (a copy); nil at the end.
    public func nextLineBytes() throws -> [UInt8]? {
        guard let line = try nextLine() else { return nil }
        return [UInt8](line)
    }

    /// The next line as text (invalid UTF-8 repaired); nil at the end.
    public func nextLineString() throws -> String? {
        guard let line = try nextLine() else { return nil }
        return String(decoding: line, as: UTF8.self)
    }

    private func trimCR(_ p: UnsafeMutableRawPointer, _ count: Int) -> UnsafeRawBufferPointer {
        var n = count
        if n > 0 && p.load(fromByteOffset: n - 1, as: UInt8.self) == 0x0D { n -= 1 }
        return UnsafeRawBufferPointer(start: p, count: n)
    }

    /// Makes room (slide, or grow for a long line) and inflates more bytes into the window.
    private func refill() throws {
        if start > 0 {
            let pending = end - start
            if pending > 0 { memmove(window.baseAddress!, window.baseAddress! + start, pending) }
            start = 0; end = pending; scanned = pending
        }
        if end == window.count {
            guard window.count < maxLineLength else {
                throw InputError(file: name, line: lineNumber + 1, reason: "line is longer than \(maxLineLength) bytes")
            }
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: min(window.count * 2, maxLineLength),
                                                                alignment: 64)
            bigger.baseAddress!.copyMemory(from: window.baseAddress!, byteCount: end)
            window.deallocate()
            window = bigger
        }
        let produced = try inflateInto(window.baseAddress! + end, window.count - end)
        end += produced
        uncompressedBytes += Int64(produced)
    }

    /// Inflates until at least one byte is produced or the stream ends (then sets `finished`).
    private func inflateInto(_ out: UnsafeMutableRawPointer, _ capacity: Int) throws -> Int {
        var produced = 0
        while produced == 0 {
            if inflater.availableInput == 0 && !sourceDone {
                let n = try source.read(into: input)
                if n == 0 { sourceDone = true } else {
                    bytesRead += Int64(n)
                    inflater.setInput(input.baseAddress!, count: n)
                }
            }
            if inflater.availableInput == 0 && sourceDone {
                // Input is exhausted: fine between members, a truncated file inside one. (A member may still
                // hold buffered output, so one more call drains it before deciding.)
                if memberOpen {
                    let (n, status) = inflater.inflate(into: out, capacity: capacity)
                    produced += n
                    if case .memberEnd = status { memberOpen = false; inflater.resetForNextMember(); continue }
                    if n > 0 { break }
                    throw DataError.gzip(name: name, offset: compressedOffset,
                                         reason: "unexpected end of data (truncated file?)")
                }
                finished = true
                break
            }
            memberOpen = true
            let (n, status) = inflater.inflate(into: out, capacity: capacity)
            produced += n
            switch status {
            case .progress: continue
            case .memberEnd:
                // End of one gzip member; another may follow (concatenated members, e.g. from `cat a.gz b.gz`).
                memberOpen = false
                inflater.resetForNextMember()
            case .corrupt(let reason):
                throw DataError.gzip(name: name, offset: compressedOffset, reason: reason)
            }
        }
        return produced
    }
}
