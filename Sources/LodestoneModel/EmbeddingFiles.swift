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
