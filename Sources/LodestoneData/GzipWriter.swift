import CZlib
import Foundation
import LodestoneStorage

/// Deflates bytes into gzip format and pushes them to a `ByteWriter` (a store object being written, or a file).
/// Used by tests and the trainer to write `.json.gz`; every `finish()` closes one gzip member, so calling
/// `finishMember()` in between produces a multi-member file as `cat a.gz b.gz` would.
public final class GzipWriter {
    private let sink: ByteWriter
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    private let level: Int32
    private var memberOpen = false, membersWritten = 0

    public init(_ sink: ByteWriter, level: Int32 = 6) throws {
        self.sink = sink
        self.level = level
        output = .allocate(byteCount: 1 << 17, alignment: 64)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard lodestone_deflate_init2(stream, level, 15 + 16) == Z_OK else {
            throw DataError.gzip(name: "gzip writer", offset: 0, reason: "zlib could not start")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        memberOpen = true
        stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(bytes.count)
        try pump(Z_NO_FLUSH)
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    public func write(_ text: String) throws { try write(Array(text.utf8)) }
    /// Writes `text` followed by a newline: one JSON line.
    public func writeLine(_ text: String) throws { try write(Array(text.utf8) + [0x0A]) }

    /// Ends the current gzip member (header, deflate data, CRC and size trailer); later writes start a new one.
    public func finishMember() throws {
        stream.pointee.avail_in = 0
        try pump(Z_FINISH)
        deflateReset(stream)
        memberOpen = false
        membersWritten += 1
    }

    /// Ends the stream. A writer that never received a byte still writes one empty member (a valid gzip file).
    public func finish() throws {
        if memberOpen || membersWritten == 0 { try finishMember() }
    }

    private func pump(_ flush: Int32) throws {
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let rc = deflate(stream, flush)
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                throw DataError.gzip(name: "gzip writer", offset: 0, reason: "deflate failed (\(rc))")
            }
            let produced = output.count - Int(stream.pointee.avail_out)
            if produced > 0 { try sink.write(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
            if flush == Z_FINISH ? rc == Z_STREAM_END : (stream.pointee.avail_in == 0 && produced < output.count) {
                return
            }
        }
    }
}

extension ObjectStore {
    /// Writes `lines` as one gzip JSON-lines object, atomically.
    public func writeGzipLines<S: Sequence>(key: String, _ lines: S) throws where S.Element == String {
        try write(key: key, expectedSize: nil) { sink in
            let gz = try GzipWriter(sink)
            for line in lines { try gz.writeLine(line) }
            try gz.finish()
        }
    }

    /// Opens a gzip object for line-by-line reading.
    public func openGzipLines(key: String) throws -> GzipLineReader {
        try GzipLineReader(try openReader(key: key), name: key)
    }
}
