import Foundation
import LodestoneBase
import LodestoneStorage

/// One malformed line, for the report (file and line number).
public struct MalformedLine: Codable, Equatable, Sendable {
    public var line: Int
    public var reason: String
}

/// The result of counting one object: what `data_records.json` and its sidecar record.
public struct RecordCount: Codable, Equatable, Sendable {
    public var key: String
    /// Training examples the trainer will yield from this object (see `RecordParser`).
    public var records: Int = 0
    public var lines = 0, blankLines = 0, malformedLines = 0
    /// The detected `RecordFormat` raw value, "mixed" when lines differ, "empty" when there are no records.
    public var format = "empty"
    /// The first few malformed lines (all are counted in `malformedLines`).
    public var malformedSamples: [MalformedLine] = []
    public var uncompressedBytes: Int64 = 0

    public init(key: String) { self.key = key }

    public static let sampleLimit = 10
}

/// Counts the training examples of one gzip JSON-lines object by streaming it: bounded memory at any size.
/// `onBytes` receives compressed byte counts as they are read (for progress).
public func countRecords(store: ObjectStore, key: String, onBytes: ((Int) -> Void)? = nil) throws -> RecordCount {
    var reader: ByteReader = try store.openReader(key: key)
    if let onBytes { reader = CountingReader(reader, onBytes) }
    let lines = try GzipLineReader(reader, name: key)
    defer { lines.close() }
    return try countRecords(lines: lines, key: key)
}

/// Counts the lines of an open reader (see `countRecords(store:key:)`).
public func countRecords(lines: GzipLineReader, key: String) throws -> RecordCount {
    var result = RecordCount(key: key)
    var scanner = RecordScanner()
    var format: RecordFormat? = nil, mixed = false
    while let line = try lines.nextLine() {
        result.lines += 1
        switch scanner.scan(line) {
        case .blank:
            result.blankLines += 1
        case .record(let f, let count):
            result.records += count
            if format == nil { format = f } else if format != f { mixed = true }
        case .malformed(let m):
            result.malformedLines += 1
            if result.malformedSamples.count < RecordCount.sampleLimit {
                result.malformedSamples.append(MalformedLine(line: lines.lineNumber, reason: m.description))
            }
        }
    }
    result.format = mixed ? "mixed" : format?.rawValue ?? "empty"
    result.uncompressedBytes = lines.uncompressedBytes
    return result
}

/// Passes reads through and reports how many bytes each returned.
final class CountingReader: ByteReader {
    let inner: ByteReader
    let report: (Int) -> Void
    init(_ inner: ByteReader, _ report: @escaping (Int) -> Void) { self.inner = inner; self.report = report }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inner.read(into: buffer)
        report(n)
        return n
    }
    func close() { inner.close() }
}
