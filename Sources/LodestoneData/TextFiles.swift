// Text inputs of 05-embed: texts to embed (.txt one per line, .jsonl with "text") and (anchor, positive)
// pairs. Lines end in LF or CRLF (split on bytes: Swift's String treats "\r\n" as one character, so a
// split on "\n" would miss every CRLF line end). Bad lines fail with the file, the line number and the field.
import Foundation
import LodestoneBase
import LodestoneStorage

public enum TextFiles {
    /// The lines of a text file, LF or CRLF, without a final empty line; a UTF-8 byte-order mark is dropped.
    /// A `.gz` file is decompressed first (BEIR sets on the Hub ship `corpus.jsonl.gz`).
    public static func readLines(_ path: String) throws -> [String] {
        if path.hasSuffix(".gz") { return try readGzipLines(path) }
        var bytes = [UInt8](try readWholeFile(path))
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 0x0D ? line.dropLast() : line[...], as: UTF8.self)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    static func readGzipLines(_ path: String) throws -> [String] {
        let reader = try GzipLineReader(DataByteReader(try readWholeFile(path)), name: path)
        defer { reader.close() }
        var lines: [String] = []
        while var line = try reader.nextLineString() {
            if lines.isEmpty, line.hasPrefix("\u{FEFF}") { line.removeFirst() }
            lines.append(line)
        }
        return lines
    }

    /// Texts to embed: `.jsonl`/`.json` lines with a "text" field (blank lines skipped), otherwise one text per line.
    public static func readTexts(_ path: String) throws -> [String] {
        let lines = try readLines(path)
        guard path.hasSuffix(".jsonl") || path.hasSuffix(".json") else { return lines }
        var texts: [String] = []
        for (i, line) in lines.enumerated() where !isBlank(line) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw InputError(file: path, line: i + 1, reason: "not a JSON object")
            }
            guard let text = object["text"] as? String else {
                throw InputError(file: path, line: i + 1, field: "text", reason: "missing or not a string")
            }
            texts.append(text)
        }
        return texts
    }

    /// (anchor, positive) pairs from JSON lines: `{"anchor", "positive"}` (held-out evaluation files), or any
    /// training record format, read by the trainer's own rule (`RecordParser`): a line's first example is its pair.
    public static func readPairs(_ path: String) throws -> [(String, String)] {
        var pairs: [(String, String)] = []
        for (i, line) in try readLines(path).enumerated() where !isBlank(line) {
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

    static func isBlank(_ line: String) -> Bool { line.allSatisfy(\.isWhitespace) }
}

/// Bytes in memory as a `ByteReader` (for `GzipLineReader` over a file read whole).
final class DataByteReader: ByteReader {
    private let data: Data
    private var offset = 0
    init(_ data: Data) { self.data = data }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, data.count - offset)
        guard n > 0 else { return 0 }
        data.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: (data.startIndex + offset)..<(data.startIndex + offset + n))
        offset += n
        return n
    }
    func close() {}
}
