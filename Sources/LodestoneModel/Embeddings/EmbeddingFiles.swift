// Embeddings on disk: NumPy .npy (float32 [n, dim]) or JSON lines ({"index", "embedding"}), chosen by the
// output's extension and written atomically; any other extension is refused before any work is done.
import Foundation
import LodestoneBase

public enum EmbeddingFormat: String, CaseIterable, Sendable {
    case npy, jsonl

    /// The format named by `path`'s extension, or a one-line error naming the path and the choices.
    public init(path: String) throws {
        let ext = (path as NSString).pathExtension.lowercased()
        guard let format = EmbeddingFormat(rawValue: ext) else {
            throw InputError(file: path, reason: "unknown output format '\(ext.isEmpty ? "(no extension)" : "." + ext)': use .npy or .jsonl")
        }
        self = format
    }

    public func encode(_ rows: [[Float]], dimension: Int) -> Data {
        switch self {
        case .npy: return Self.npy(rows, dimension: dimension)
        case .jsonl: return Self.jsonl(rows)
        }
    }

    /// NumPy .npy version 1.0: magic, header length, a Python dict literal padded so the data starts on a
    /// 64-byte boundary, then little-endian float32 rows.
    static func npy(_ rows: [[Float]], dimension: Int) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(dimension)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.reserveCapacity(data.count + rows.count * dimension * 4)
        for row in rows {
            precondition(row.count == dimension, "embedding of width \(row.count), expected \(dimension)")
            row.withUnsafeBytes { data.append(contentsOf: $0) } // x86-64 and arm64 are little-endian
        }
        return data
    }

    /// One JSON object per text: {"index": i, "embedding": [...]}.
    static func jsonl(_ rows: [[Float]]) -> Data {
        var out = ""
        for (i, row) in rows.enumerated() {
            out += "{\"index\": \(i), \"embedding\": [" + row.map { "\($0)" }.joined(separator: ", ") + "]}\n"
        }
        return Data(out.utf8)
    }
}

/// A float32 [rows, dim] matrix from a NumPy .npy file (as `05-embed encode` writes), memory-mapped: a corpus is
/// embedded once and searched many times without reading it all into memory. Anything but little-endian float32,
/// C order, two dimensions is refused with the file and the field.
public final class NpyMatrix {
    public let path: String
    public let rows: Int
    public let dimension: Int
    private let mapped: Data
    private let dataOffset: Int

    public init(path: String) throws {
        self.path = path
        do { mapped = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            try checkReadable(path)   // names the path and the reason
            throw InputError(file: path, reason: describe(error))
        }
        let bytes = [UInt8](mapped.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw InputError(file: path, offset: 0, reason: "not a NumPy .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw InputError(file: path, offset: 8, reason: "truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; headerStart = 12
        default: throw InputError(file: path, offset: 6, reason: "unsupported .npy version \(major)")
        }
        guard headerStart + headerLength <= mapped.count else { throw InputError(file: path, offset: Int64(headerStart), reason: "truncated header") }
        let header = String(decoding: mapped[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let fields = try NpyMatrix.headerFields(header, path: path, offset: Int64(headerStart))
        guard let descr = fields["descr"] else { throw InputError(file: path, field: "descr", reason: "missing from the header") }
        guard descr == "<f4" || descr == "float32" else {
            throw InputError(file: path, field: "descr", reason: "dtype '\(descr)': need little-endian float32 ('<f4')")
        }
        guard let order = fields["fortran_order"] else { throw InputError(file: path, field: "fortran_order", reason: "missing from the header") }
        guard order == "False" else { throw InputError(file: path, field: "fortran_order", reason: "\(order): need C order (False)") }
        guard let shapeText = fields["shape"] else { throw InputError(file: path, field: "shape", reason: "missing from the header") }
        let parts = shapeText.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let dims = parts.compactMap { Int($0) }
        guard dims.count == 2, parts.count == 2, dims[0] >= 0, dims[1] > 0 else {
            throw InputError(file: path, field: "shape", reason: "\(shapeText): need two dimensions (rows, dim)")
        }
        rows = dims[0]; dimension = dims[1]; dataOffset = headerStart + headerLength
        // The shape comes from the file: its byte count is formed with overflow checks, as no real file is that large.
        let (elements, o1) = rows.multipliedReportingOverflow(by: dimension)
        let (dataBytes, o2) = elements.multipliedReportingOverflow(by: 4)
        let (expected, o3) = dataOffset.addingReportingOverflow(dataBytes)
        guard !(o1 || o2 || o3) else {
            throw InputError(file: path, field: "shape", reason: "\(shapeText): more bytes than any file holds")
        }
        guard mapped.count == expected else {
            throw InputError(file: path, offset: Int64(mapped.count), reason: "\(mapped.count) bytes, the header's shape needs \(expected) (truncated?)")
        }
    }

    /// The header's Python dict literal as key → value text: keys in single or double quotes (NumPy writes single,
    /// other writers double), values a quoted string (unquoted here), a word (True/False) or a tuple ("(3, 4)").
    static func headerFields(_ header: String, path: String, offset: Int64) throws -> [String: String] {
        let bad = { (why: String) in InputError(file: path, offset: offset, field: "header", reason: why) }
        var chars = Array(header.trimmingCharacters(in: .whitespacesAndNewlines))
        guard chars.first == "{", chars.last == "}" else { throw bad("not a Python dict literal") }
        chars = Array(chars.dropFirst().dropLast())
        var i = 0, out: [String: String] = [:]
        func skipSpace() { while i < chars.count, chars[i].isWhitespace { i += 1 } }
        func quoted() throws -> String {
            let quote = chars[i]; i += 1
            let start = i
            while i < chars.count, chars[i] != quote { i += 1 }
            guard i < chars.count else { throw bad("unterminated string") }
            defer { i += 1 }
            return String(chars[start..<i])
        }
        while true {
            skipSpace()
            if i >= chars.count { break }
            guard chars[i] == "'" || chars[i] == "\"" else { throw bad("expected a quoted key at character \(i + 1)") }
            let key = try quoted()
            skipSpace()
            guard i < chars.count, chars[i] == ":" else { throw bad("expected ':' after '\(key)'") }
            i += 1; skipSpace()
            guard i < chars.count else { throw bad("no value for '\(key)'") }
            let value: String
            if chars[i] == "'" || chars[i] == "\"" {
                value = try quoted()
            } else if chars[i] == "(" {
                let start = i
                while i < chars.count, chars[i] != ")" { i += 1 }
                guard i < chars.count else { throw bad("unterminated tuple for '\(key)'") }
                i += 1
                value = String(chars[start..<i])
            } else {
                let start = i
                while i < chars.count, chars[i] != ",", !chars[i].isWhitespace { i += 1 }
                value = String(chars[start..<i])
            }
            out[key] = value
            skipSpace()
            if i < chars.count {
                guard chars[i] == "," else { throw bad("expected ',' after the value of '\(key)'") }
                i += 1
            }
        }
        return out
    }

    /// The rows as one contiguous float buffer, valid during `body`.
    public func withRows<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try mapped.withUnsafeBytes { raw in
            try body((raw.baseAddress! + dataOffset).assumingMemoryBound(to: Float.self))
        }
    }
}
