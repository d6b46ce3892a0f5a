import Foundation
import LodestoneStorage

/// Rows of texts as JSON lines, `["anchor", "positive", "negative 1", …]`: the list record format that 02 counts
/// and 04 trains on (`RecordFormat.pairList`/`.tripletList`, texts after the second are hard negatives).
/// Gzip-compressed when asked (a `.gz` name); bytes are buffered so a row is not a system call.
public final class TextRowsWriter {
    private let sink: ByteWriter
    private let gzip: GzipWriter?
    private var buffer: [UInt8] = []
    public private(set) var rows = 0

    /// `compressed`: gzip the lines (use `TextRowsWriter.isCompressed(path)` to follow the file name).
    public init(_ sink: ByteWriter, compressed: Bool) throws {
        self.sink = sink
        gzip = compressed ? try GzipWriter(sink) : nil
        buffer.reserveCapacity(1 << 20)
    }

    public static func isCompressed(_ path: String) -> Bool { path.lowercased().hasSuffix(".gz") }

    public func write(_ texts: [String]) throws {
        buffer.append(contentsOf: Self.jsonLine(texts).utf8)
        buffer.append(0x0A)
        rows += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Writes what is buffered and ends the gzip stream; call once, after the last row.
    public func finish() throws {
        try flush()
        try gzip?.finish()
    }

    /// One row as a compact JSON list of strings.
    public static func jsonLine(_ texts: [String]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: texts, options: [.withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { bytes in
            if let gzip { try gzip.write(bytes) } else { try sink.write(bytes) }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
