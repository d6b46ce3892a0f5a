import Foundation

/// Byte range of a JSON string's content (between its quotes, escapes not yet decoded).
struct TextSpan {
    var start = 0, end = 0
}

/// A forward-only JSON reader over one line's bytes. It checks structure (brackets, commas, colons, string
/// boundaries, literals, number characters) and finds string boundaries with `memchr`, without building
/// values: counting a 100 GB file costs little more than inflating it. String contents are not validated
/// (bad escapes and invalid UTF-8 are repaired when decoded), so a line either parses here — and then yields
/// its texts — or is malformed; counting and training therefore agree by construction.
struct JSONCursor {
    let p: UnsafePointer<UInt8>
    let n: Int
    var i = 0
    static let maxDepth = 200

    init(_ line: UnsafeRawBufferPointer) {
        // An empty buffer may have no base address; point at a static byte instead.
        p = line.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? JSONCursor.emptyByte
        n = line.count
    }
    private static let emptyByte: UnsafePointer<UInt8> = {
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: 1); b.pointee = 0; return UnsafePointer(b)
    }()

    var atEnd: Bool { i >= n }
    var current: UInt8 { p[i] }

    @inline(__always) mutating func skipWhitespace() {
        while i < n {
            let c = p[i]
            guard c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D else { return }
            i += 1
        }
    }

    /// At a `"`: the content span, moving past the closing quote; nil when unterminated.
    mutating func string() -> TextSpan? {
        let start = i + 1
        var from = start
        while from < n {
            guard let q = memchr(p + from, 0x22, n - from) else { return nil }
            let k = UnsafeRawPointer(p).distance(to: UnsafeRawPointer(q))
            var backslashes = 0
            while k - 1 - backslashes >= start && p[k - 1 - backslashes] == 0x5C { backslashes += 1 }
            if backslashes & 1 == 0 {
                i = k + 1
                return TextSpan(start: start, end: k)
            }
            from = k + 1
        }
        return nil
    }

    /// Skips any JSON value; false when it is not valid JSON.
    mutating func skipValue(depth: Int = 0) -> Bool {
        skipWhitespace()
        guard i < n else { return false }
        switch p[i] {
        case 0x22: return string() != nil
        case 0x5B: // [
            guard depth < Self.maxDepth else { return false }
            i += 1
            skipWhitespace()
            if i < n && p[i] == 0x5D { i += 1; return true }
            while true {
                guard skipValue(depth: depth + 1) else { return false }
                skipWhitespace()
                guard i < n else { return false }
                if p[i] == 0x2C { i += 1; continue }
                if p[i] == 0x5D { i += 1; return true }
                return false
            }
        case 0x7B: // {
            guard depth < Self.maxDepth else { return false }
            i += 1
            skipWhitespace()
            if i < n && p[i] == 0x7D { i += 1; return true }
            while true {
                skipWhitespace()
                guard i < n, p[i] == 0x22, string() != nil else { return false }
                guard colon(), skipValue(depth: depth + 1) else { return false }
                skipWhitespace()
                guard i < n else { return false }
                if p[i] == 0x2C { i += 1; continue }
                if p[i] == 0x7D { i += 1; return true }
                return false
            }
        case 0x74: return literal("true")
        case 0x66: return literal("false")
        case 0x6E: return literal("null")
        case 0x2D, 0x30...0x39:
            i += 1
            while i < n {
                let c = p[i]
                guard (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x65 || c == 0x45 || c == 0x2B || c == 0x2D
                else { break }
                i += 1
            }
            return true
        default: return false
        }
    }

    /// Skips whitespace and a `:`.
    mutating func colon() -> Bool {
        skipWhitespace()
        guard i < n, p[i] == 0x3A else { return false }
        i += 1
        return true
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let len = word.utf8CodeUnitCount
        guard n - i >= len, memcmp(p + i, word.utf8Start, len) == 0 else { return false }
        i += len
        return true
    }

    enum ArrayResult { case strings, notStrings, invalid }

    /// At a `[`: appends the spans of its elements if all are strings.
    mutating func stringArray(into spans: inout [TextSpan]) -> ArrayResult {
        spans.removeAll(keepingCapacity: true)
        i += 1
        skipWhitespace()
        if i < n && p[i] == 0x5D { i += 1; return .strings }
        while true {
            skipWhitespace()
            guard i < n else { return .invalid }
            if p[i] == 0x22 {
                guard let s = string() else { return .invalid }
                spans.append(s)
            } else {
                return skipValue(depth: 1) ? .notStrings : .invalid
            }
            skipWhitespace()
            guard i < n else { return .invalid }
            if p[i] == 0x2C { i += 1; continue }
            if p[i] == 0x5D { i += 1; return .strings }
            return .invalid
        }
    }

    /// Whether the span's bytes equal `word` (object keys are compared undecoded).
    func equals(_ span: TextSpan, _ word: StaticString) -> Bool {
        let len = word.utf8CodeUnitCount
        return span.end - span.start == len && memcmp(p + span.start, word.utf8Start, len) == 0
    }

    /// Decodes a string's content: JSON escapes (with surrogate pairs), invalid UTF-8 repaired.
    func text(_ span: TextSpan) -> String {
        let raw = UnsafeBufferPointer(start: p + span.start, count: span.end - span.start)
        guard memchr(p + span.start, 0x5C, span.end - span.start) != nil else {
            return String(decoding: raw, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var k = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= raw.count else { return nil }
            var v: UInt32 = 0
            for j in at..<at + 4 {
                let c = raw[j]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x61...0x66: d = c - 0x61 + 10
                case 0x41...0x46: d = c - 0x41 + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        func appendScalar(_ v: UInt32) {
            let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
        while k < raw.count {
            let c = raw[k]
            guard c == 0x5C, k + 1 < raw.count else { out.append(c); k += 1; continue }
            let e = raw[k + 1]
            k += 2
            switch e {
            case 0x6E: out.append(0x0A)
            case 0x74: out.append(0x09)
            case 0x72: out.append(0x0D)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x75:
                guard let u = hex4(k) else { out.append(contentsOf: [0x5C, e]); continue }
                k += 4
                if u >= 0xD800 && u < 0xDC00, k + 6 <= raw.count, raw[k] == 0x5C, raw[k + 1] == 0x75,
                   let low = hex4(k + 2), low >= 0xDC00 && low < 0xE000 {
                    k += 6
                    appendScalar(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00))
                } else {
                    appendScalar(u)   // a lone surrogate becomes U+FFFD
                }
            default: out.append(e)   // \" \\ \/ and, leniently, any other escaped byte
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
