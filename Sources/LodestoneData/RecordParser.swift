import Foundation

/// The ONE parsing rule shared by counting (02-data-records) and training (04-training):
/// for every line, `examples(fromLine:).count == RecordScanner.scan(line)`'s count, because both run the same
/// scan and the examples are built from the spans that scan found.
///
/// Rules (../shared/reference/LODESTONE.md, "Record formats"):
/// - blank line (only whitespace): nothing.
/// - `[t0, t1, …]`, 2 or more strings: one example, texts as given (t2… are hard negatives).
/// - `{"texts": [...]}` (other keys such as `guid` ignored): as a list.
/// - `{"set": [...]}`, 2 or more strings: ONE example per line, the set's first two texts. This follows
///   sentence-transformers' training on these files (one example per line made of the set's texts) and keeps the
///   count equal to the line count, as the original's `zcat | wc -l` assumed. Extra paraphrases are not used as
///   negatives: in a set they are positives.
/// - `{"query": q, "pos": [p…]}`: one example (q, p) per positive; `len(pos)` in all (0 for an empty list).
///   With `"neg": [n…]` (non-empty), example i is (q, p_i, n_(i mod len(neg))).
/// - `{"title", "body"[, "subreddit"]}` → (title, body); `{"context", "response"}` → (response, context).
/// - When a line has several of these keys, the first in this list wins: texts, set, query+pos, title+body,
///   context+response.
/// Anything else — invalid JSON, a list with fewer than 2 texts or non-strings, an object without the keys,
///   a field of the wrong type, data after the value — is malformed: no examples, counted separately.
public enum RecordParser {
    /// The examples of one line; throws `MalformedRecord` for a malformed line, returns [] for a blank one.
    public static func examples(fromLine line: UnsafeRawBufferPointer) throws -> [TrainingExample] {
        var scanner = RecordScanner()
        return try scanner.examples(line)
    }

    public static func examples<C: Collection>(fromLine line: C) throws -> [TrainingExample] where C.Element == UInt8 {
        if let result = try line.withContiguousStorageIfAvailable({ try examples(fromLine: UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return try Array(line).withUnsafeBytes { try examples(fromLine: $0) }
    }

    public static func examples(fromLine line: String) throws -> [TrainingExample] {
        var copy = line
        return try copy.withUTF8 { try examples(fromLine: UnsafeRawBufferPointer($0)) }
    }

    /// How many examples the line yields, without decoding any text.
    public static func count(line: UnsafeRawBufferPointer) -> RecordScanner.Outcome {
        var scanner = RecordScanner()
        return scanner.scan(line)
    }
}

/// Reusable scanner: keep one per thread in hot loops so that its span buffers are allocated once.
public struct RecordScanner {
    public enum Outcome: Equatable {
        case blank
        case record(RecordFormat, count: Int)
        case malformed(MalformedRecord)
    }

    private var texts: [TextSpan] = [], set: [TextSpan] = [], pos: [TextSpan] = [], neg: [TextSpan] = []
    private var query = TextSpan(), title = TextSpan(), body = TextSpan(), context = TextSpan(), response = TextSpan()

    public init() {}

    /// Classifies and counts one line (no text decoding).
    public mutating func scan(_ line: UnsafeRawBufferPointer) -> Outcome {
        var c = JSONCursor(line)
        return scan(&c)
    }

    /// The examples of one line (see `RecordParser` for the rules).
    public mutating func examples(_ line: UnsafeRawBufferPointer) throws -> [TrainingExample] {
        var c = JSONCursor(line)
        switch scan(&c) {
        case .blank: return []
        case .malformed(let m): throw m
        case .record(let format, _):
            switch format {
            case .pairList, .tripletList: return [TrainingExample(texts: texts.map(c.text))]
            case .texts: return [TrainingExample(texts: texts.map(c.text))]
            case .set: return [TrainingExample(texts: [c.text(set[0]), c.text(set[1])])]
            case .queryPos, .queryPosNeg:
                let q = c.text(query)
                let negatives = neg.map(c.text)
                return pos.enumerated().map { i, p in
                    TrainingExample(texts: negatives.isEmpty ? [q, c.text(p)]
                                                             : [q, c.text(p), negatives[i % negatives.count]])
                }
            case .redditTitleBody: return [TrainingExample(texts: [c.text(title), c.text(body)])]
            case .redditContextResponse: return [TrainingExample(texts: [c.text(response), c.text(context)])]
            }
        }
    }

    private struct Fields: OptionSet {
        let rawValue: UInt16
        static let texts = Fields(rawValue: 1), set = Fields(rawValue: 2), query = Fields(rawValue: 4)
        static let pos = Fields(rawValue: 8), neg = Fields(rawValue: 16), title = Fields(rawValue: 32)
        static let body = Fields(rawValue: 64), context = Fields(rawValue: 128), response = Fields(rawValue: 256)
    }

    private func bad(_ reason: String, _ c: JSONCursor) -> Outcome {
        .malformed(MalformedRecord(reason: reason, byte: min(c.i, c.n)))
    }

    private mutating func scan(_ c: inout JSONCursor) -> Outcome {
        c.skipWhitespace()
        if c.atEnd { return .blank }
        let outcome: Outcome
        switch c.current {
        case 0x5B: outcome = scanList(&c)
        case 0x7B: outcome = scanObject(&c)
        default: return bad("not a JSON list or object", c)
        }
        guard case .record = outcome else { return outcome }
        c.skipWhitespace()
        return c.atEnd ? outcome : bad("unexpected data after the JSON value", c)
    }

    private mutating func scanList(_ c: inout JSONCursor) -> Outcome {
        switch c.stringArray(into: &texts) {
        case .invalid: return bad("invalid JSON", c)
        case .notStrings: return bad("a list record must hold only strings", c)
        case .strings:
            guard texts.count >= 2 else { return bad("a list record needs at least 2 texts, found \(texts.count)", c) }
            return .record(texts.count == 2 ? .pairList : .tripletList, count: 1)
        }
    }

    private mutating func scanObject(_ c: inout JSONCursor) -> Outcome {
        var found: Fields = [], wrong: Fields = []
        c.i += 1
        c.skipWhitespace()
        if !c.atEnd && c.current == 0x7D { c.i += 1; return bad("an empty object holds no texts", c) }
        while true {
            c.skipWhitespace()
            guard !c.atEnd, c.current == 0x22, let key = c.string(), c.colon() else { return bad("invalid JSON", c) }
            c.skipWhitespace()
            guard !c.atEnd else { return bad("invalid JSON", c) }
            // Known keys are read into spans; any other key's value is skipped.
            var field: Fields = []
            var invalidJSON = false
            var ok = true
            if c.equals(key, "texts") { field = .texts; ok = Self.readArray(&c, &texts, &invalidJSON) }
            else if c.equals(key, "set") { field = .set; ok = Self.readArray(&c, &set, &invalidJSON) }
            else if c.equals(key, "pos") { field = .pos; ok = Self.readArray(&c, &pos, &invalidJSON) }
            else if c.equals(key, "neg") { field = .neg; ok = Self.readArray(&c, &neg, &invalidJSON) }
            else if c.equals(key, "query") { field = .query; ok = Self.readString(&c, &query, &invalidJSON) }
            else if c.equals(key, "title") { field = .title; ok = Self.readString(&c, &title, &invalidJSON) }
            else if c.equals(key, "body") { field = .body; ok = Self.readString(&c, &body, &invalidJSON) }
            else if c.equals(key, "context") { field = .context; ok = Self.readString(&c, &context, &invalidJSON) }
            else if c.equals(key, "response") { field = .response; ok = Self.readString(&c, &response, &invalidJSON) }
            else if !c.skipValue(depth: 1) { return bad("invalid JSON", c) }
            if invalidJSON { return bad("invalid JSON", c) }
            if !field.isEmpty {
                if ok { found.insert(field); wrong.remove(field) } else { wrong.insert(field); found.remove(field) }
            }
            c.skipWhitespace()
            guard !c.atEnd else { return bad("invalid JSON", c) }
            if c.current == 0x2C { c.i += 1; continue }
            if c.current == 0x7D { c.i += 1; break }
            return bad("invalid JSON", c)
        }
        func typeError(_ name: String, _ what: String) -> Outcome { bad("field '\(name)' must be \(what)", c) }
        if found.contains(.texts) || wrong.contains(.texts) {
            guard found.contains(.texts) else { return typeError("texts", "a list of strings") }
            guard texts.count >= 2 else { return bad("field 'texts' needs at least 2 texts, found \(texts.count)", c) }
            return .record(.texts, count: 1)
        }
        if found.contains(.set) || wrong.contains(.set) {
            guard found.contains(.set) else { return typeError("set", "a list of strings") }
            guard set.count >= 2 else { return bad("field 'set' needs at least 2 texts, found \(set.count)", c) }
            return .record(.set, count: 1)
        }
        if !found.union(wrong).isDisjoint(with: [.query]) && !found.union(wrong).isDisjoint(with: [.pos]) {
            guard found.contains(.query) else { return typeError("query", "a string") }
            guard found.contains(.pos) else { return typeError("pos", "a list of strings") }
            if wrong.contains(.neg) { return typeError("neg", "a list of strings") }
            if !found.contains(.neg) { neg.removeAll(keepingCapacity: true) }
            return .record(neg.isEmpty ? .queryPos : .queryPosNeg, count: pos.count)
        }
        if !found.union(wrong).isDisjoint(with: [.title]) && !found.union(wrong).isDisjoint(with: [.body]) {
            guard found.contains(.title) else { return typeError("title", "a string") }
            guard found.contains(.body) else { return typeError("body", "a string") }
            return .record(.redditTitleBody, count: 1)
        }
        if !found.union(wrong).isDisjoint(with: [.context]) && !found.union(wrong).isDisjoint(with: [.response]) {
            guard found.contains(.context) else { return typeError("context", "a string") }
            guard found.contains(.response) else { return typeError("response", "a string") }
            return .record(.redditContextResponse, count: 1)
        }
        return bad("no record fields (expected texts, set, query+pos, title+body or context+response)", c)
    }

    /// Reads a known list field; false for a value of another type, setting `invalidJSON` when it is not JSON.
    private static func readArray(_ c: inout JSONCursor, _ spans: inout [TextSpan], _ invalidJSON: inout Bool) -> Bool {
        if c.current == 0x5B {
            switch c.stringArray(into: &spans) {
            case .strings: return true
            case .notStrings: return false
            case .invalid: invalidJSON = true; return false
            }
        }
        if !c.skipValue(depth: 1) { invalidJSON = true }
        return false
    }

    /// Reads a known string field, as `readArray`.
    private static func readString(_ c: inout JSONCursor, _ span: inout TextSpan, _ invalidJSON: inout Bool) -> Bool {
        if c.current == 0x22 {
            guard let s = c.string() else { invalidJSON = true; return false }
            span = s
            return true
        }
        if !c.skipValue(depth: 1) { invalidJSON = true }
        return false
    }
}
