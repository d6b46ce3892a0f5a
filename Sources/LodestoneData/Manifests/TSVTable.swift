import Foundation
import LodestoneBase

/// A tab-separated table read the way pandas `read_csv(sep='\t')` reads the original manifests:
/// the first record is the header; a field that starts with `"` is quoted, may hold tabs and newlines,
/// and writes a literal quote as `""`. Lines that are entirely empty are skipped.
public struct TSVTable {
    public var header: [String]
    /// Each record with the (1-based) line it starts on.
    public var rows: [(line: Int, fields: [String])]

    public static func parse(_ text: String, file: String) throws -> TSVTable {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var line = 1
        var recordLine = 1
        var inQuotes = false, quoteLine = 0, quoteField = 0
        var atFieldStart = true
        var chars = Array(text.unicodeScalars)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }
        var i = 0

        /// The header's name for field `index` of the current record, once the header is read.
        func columnName(_ index: Int) -> String? {
            guard let header = records.first?.fields, index < header.count else { return nil }
            return header[index].trimmingCharacters(in: .whitespaces)
        }

        func endRecord() {
            fields.append(field); field = ""
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields = []
        }

        while i < chars.count {
            let c = chars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 2; continue }
                    inQuotes = false
                    // After the closing quote only a separator or the end of the record may follow.
                    if i + 1 < chars.count && !["\t", "\n", "\r"].contains(chars[i + 1]) {
                        throw InputError(file: file, line: line, field: columnName(fields.count),
                                         reason: "unexpected character after closing quote")
                    }
                } else {
                    field.unicodeScalars.append(c)
                    if c == "\n" { line += 1 }
                }
                i += 1
                continue
            }
            switch c {
            case "\"" where atFieldStart:
                inQuotes = true; quoteLine = line; quoteField = fields.count
                atFieldStart = false
            case "\t":
                fields.append(field); field = ""; atFieldStart = true
            case "\r" where i + 1 < chars.count && chars[i + 1] == "\n":
                break
            case "\n", "\r":
                endRecord(); atFieldStart = true
                line += 1; recordLine = line
            default:
                field.unicodeScalars.append(c); atFieldStart = false
            }
            i += 1
        }
        if inQuotes {
            throw InputError(file: file, line: quoteLine, field: columnName(quoteField),
                             reason: "unterminated quote (opened on this line, never closed)")
        }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        guard let first = records.first else {
            throw InputError(file: file, reason: "empty file (expected a header line)")
        }
        let header = first.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        var rows: [(line: Int, fields: [String])] = []
        for r in records.dropFirst() {
            if r.fields.count > header.count {
                throw InputError(file: file, line: r.line, reason: "expected \(header.count) fields, saw \(r.fields.count)")
            }
            rows.append((r.line, r.fields + Array(repeating: "", count: header.count - r.fields.count)))
        }
        return TSVTable(header: header, rows: rows)
    }

    /// The index of a required column, or an error naming it.
    public func column(_ name: String, file: String) throws -> Int {
        guard let i = header.firstIndex(of: name) else {
            throw InputError(file: file, line: 1, field: name,
                             reason: "missing column (header has: \(header.joined(separator: ", ")))")
        }
        return i
    }
}
