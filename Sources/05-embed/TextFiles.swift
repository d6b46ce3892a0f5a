// Reading texts and text pairs, writing embeddings (.npy float32 [n, dim] or .jsonl). Bad lines fail with
// the file, the line number and the field; outputs are written to a temporary name and renamed.
import Foundation
import LodestoneCore

struct InputError: Error, CustomStringConvertible {
    let file: String, line: Int, reason: String
    var description: String { "\(file):\(line): \(reason)" }
}

/// The lines of a text file, without a final empty line; CRLF tolerated.
func readLines(_ path: String) throws -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw InputError(file: path, line: 0, reason: "cannot read file")
    }
    var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
    if lines.last == "" { lines.removeLast() }
    return lines
}

/// Texts to embed: `.jsonl` lines with a "text" field, otherwise one text per line.
func readTexts(_ path: String) throws -> [String] {
    let lines = try readLines(path)
    guard path.hasSuffix(".jsonl") || path.hasSuffix(".json") else { return lines }
    var texts: [String] = []
    for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw InputError(file: path, line: i + 1, reason: "not a JSON object")
        }
        guard let text = object["text"] as? String else {
            throw InputError(file: path, line: i + 1, reason: "field \"text\" missing or not a string")
        }
        texts.append(text)
    }
    return texts
}

/// (anchor, positive) pairs from JSON lines: `{"anchor", "positive"}` (the held-out eval files), or any training
/// record format, read by the trainer's own rule (`RecordParser`); the first example of a line is its pair.
func readPairs(_ path: String) throws -> [(String, String)] {
    var pairs: [(String, String)] = []
    for (i, line) in try readLines(path).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        if let anchor = object?["anchor"] as? String, let positive = object?["positive"] as? String {
            pairs.append((anchor, positive))
            continue
        }
        let examples: [TrainingExample]
        do { examples = try RecordParser.examples(fromLine: line) } catch {
            throw InputError(file: path, line: i + 1, reason: "no (anchor, positive) pair: \(error)")
        }
        guard let first = examples.first else {
            throw InputError(file: path, line: i + 1, reason: "no (anchor, positive) pair: the record yields no example")
        }
        pairs.append((first.texts[0], first.texts[1]))
    }
    return pairs
}

/// Writes `data` to `path` through a temporary file in the same directory, then renames it into place.
func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(UUID().uuidString)")
    do {
        try data.write(to: temporary)
        if FileManager.default.fileExists(atPath: url.path) {
            _ = try FileManager.default.replaceItemAt(url, withItemAt: temporary)
        } else {
            try FileManager.default.moveItem(at: temporary, to: url)
        }
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw error
    }
}

/// NumPy .npy version 1.0: magic, header length, a Python dict literal padded so the data starts on a
/// 64-byte boundary, then little-endian float32 rows.
func npyData(_ rows: [[Float]], dimension: Int) -> Data {
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
func jsonlData(_ rows: [[Float]]) -> Data {
    var out = ""
    for (i, row) in rows.enumerated() {
        out += "{\"index\": \(i), \"embedding\": [" + row.map { "\($0)" }.joined(separator: ", ") + "]}\n"
    }
    return Data(out.utf8)
}
