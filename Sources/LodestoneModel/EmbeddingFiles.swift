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
        func value(_ key: String) -> String? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descr = value("descr"), descr.hasPrefix("'<f4'") || descr.hasPrefix("'float32'") else {
            throw InputError(file: path, field: "descr", reason: "dtype \(value("descr")?.prefix(8) ?? "missing"): need little-endian float32 ('<f4')")
        }
        guard let order = value("fortran_order"), order.hasPrefix("False") else {
            throw InputError(file: path, field: "fortran_order", reason: "need C order (False)")
        }
        guard let shapeText = value("shape"), shapeText.hasPrefix("("), let close = shapeText.firstIndex(of: ")") else {
            throw InputError(file: path, field: "shape", reason: "missing")
        }
        let dims = shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.compactMap { Int($0) }
        guard dims.count == 2, dims[0] >= 0, dims[1] > 0 else {
            throw InputError(file: path, field: "shape", reason: "\(shapeText[...close]): need two dimensions (rows, dim)")
        }
        rows = dims[0]; dimension = dims[1]; dataOffset = headerStart + headerLength
        let expected = dataOffset + rows * dimension * 4
        guard mapped.count == expected else {
            throw InputError(file: path, offset: Int64(mapped.count), reason: "\(mapped.count) bytes, the header's shape needs \(expected) (truncated?)")
        }
    }

    /// The rows as one contiguous float buffer, valid during `body`.
    public func withRows<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try mapped.withUnsafeBytes { raw in
            try body((raw.baseAddress! + dataOffset).assumingMemoryBound(to: Float.self))
        }
    }
}
