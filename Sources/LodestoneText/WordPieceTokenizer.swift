// WordPiece tokenizer with bert-base-uncased (BertTokenizerFast) behaviour: normalise, split into words
// and punctuation, greedy longest-match pieces with `##` continuations, [CLS] … [SEP], truncation.
// Works on UTF-8 bytes; ASCII never leaves the byte loop. Special tokens written in the text ("[SEP]") are
// taken as those tokens, as BertTokenizerFast's added-token matching does before it normalises.
import Foundation

public final class WordPieceTokenizer: @unchecked Sendable {
    public let vocabulary: Vocabulary
    public let lowercase: Bool
    public let clsId: Int32, sepId: Int32, padId: Int32, unkId: Int32
    /// Words longer than this many characters become [UNK] (the Hugging Face default).
    public let maxCharsPerWord = 100
    private let normalizer: BertNormalizer
    /// The special tokens matched in raw text (exactly, case-sensitive), with their ids.
    private let specialTokens: [(bytes: [UInt8], id: Int32)]

    public var vocabSize: Int { vocabulary.count }

    public init(vocabulary: Vocabulary, lowercase: Bool = true, file: String = "vocabulary") throws {
        func special(_ token: String) throws -> Int32 {
            guard let id = vocabulary.id(of: token) else { throw VocabularyError.missingToken(file: file, token: token) }
            return id
        }
        self.vocabulary = vocabulary
        self.lowercase = lowercase
        clsId = try special("[CLS]"); sepId = try special("[SEP]")
        padId = try special("[PAD]"); unkId = try special("[UNK]")
        normalizer = BertNormalizer(lowercase: lowercase)
        specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in
            vocabulary.id(of: token).map { (Array(token.utf8), $0) }
        }
    }

    /// Loads a `vocab.txt` (lower-casing on, as bert-base-uncased).
    public convenience init(vocabFile: URL, lowercase: Bool = true) throws {
        try self.init(vocabulary: Vocabulary(vocabFile: vocabFile), lowercase: lowercase, file: vocabFile.path)
    }

    /// Loads a model directory: `vocab.txt` if present, else `tokenizer.json`; `do_lower_case` from
    /// `tokenizer_config.json` when it says so (default true).
    public convenience init(directory: URL) throws {
        let fm = FileManager.default
        var lowercase = true
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        if let data = try? Data(contentsOf: configURL),
           let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let flag = config["do_lower_case"] as? Bool {
            lowercase = flag
        }
        let vocabURL = directory.appendingPathComponent("vocab.txt")
        let jsonURL = directory.appendingPathComponent("tokenizer.json")
        if fm.fileExists(atPath: vocabURL.path) {
            try self.init(vocabulary: Vocabulary(vocabFile: vocabURL), lowercase: lowercase, file: vocabURL.path)
        } else if fm.fileExists(atPath: jsonURL.path) {
            try self.init(vocabulary: Vocabulary(tokenizerJSON: jsonURL), lowercase: lowercase, file: jsonURL.path)
        } else {
            throw VocabularyError.unreadable(file: directory.path, reason: "no vocab.txt or tokenizer.json")
        }
    }

    /// Token ids of `text` with [CLS] and [SEP]; `maxLength` counts both special tokens.
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int32] {
        let budget = maxLength.map { max(0, $0 - 2) } ?? Int.max / 2
        var ids: [Int32] = [clsId]
        var text = text
        text.withUTF8 { bytes in
            var state = WordState(capacity: min(bytes.count, 256) + 8)
            var start = 0
            while let (at, length, id) = nextSpecialToken(in: bytes, from: start) {
                encodeWords(UnsafeBufferPointer(rebasing: bytes[start..<at]), into: &ids, state: &state, budget: budget)
                ids.append(id)
                start = at + length
            }
            encodeWords(UnsafeBufferPointer(rebasing: bytes[start...]), into: &ids, state: &state, budget: budget)
        }
        if ids.count > budget + 1 { ids.removeLast(ids.count - budget - 1) }
        ids.append(sepId)
        return ids
    }

    /// The first special token written in `bytes` at or after `from`: its offset, byte length and id.
    private func nextSpecialToken(in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> (Int, Int, Int32)? {
        var i = from
        while i < bytes.count {
            if bytes[i] == 0x5B { // "["
                for (token, id) in specialTokens where i + token.count <= bytes.count {
                    if token.indices.allSatisfy({ bytes[i + $0] == token[$0] }) { return (i, token.count, id) }
                }
            }
            i += 1
        }
        return nil
    }

    /// Tokens as strings (for debugging and tests).
    public func tokens(of ids: [Int32]) -> [String] {
        ids.map { Int($0) < vocabulary.tokens.count ? vocabulary.tokens[Int($0)] : "<\($0)>" }
    }

    /// The word being collected: its UTF-8 bytes and character count.
    private struct WordState {
        var bytes: [UInt8]
        var characters = 0
        init(capacity: Int) { bytes = []; bytes.reserveCapacity(capacity) }
        @inline(__always) mutating func append(scalar v: UInt32) {
            characters += 1
            if v < 0x80 { bytes.append(UInt8(v)) }
            else if v < 0x800 { bytes.append(UInt8(0xC0 | (v >> 6))); bytes.append(UInt8(0x80 | (v & 0x3F))) }
            else if v < 0x10000 {
                bytes.append(UInt8(0xE0 | (v >> 12))); bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
                bytes.append(UInt8(0x80 | (v & 0x3F)))
            } else {
                bytes.append(UInt8(0xF0 | (v >> 18))); bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
                bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F))); bytes.append(UInt8(0x80 | (v & 0x3F)))
            }
        }
    }

    private func encodeWords(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int32],
                             state word: inout WordState, budget: Int) {
        @inline(__always) func flush() {
            if word.characters > 0 { appendPieces(of: &word, to: &ids) }
        }
        @inline(__always) func isolated(_ v: UInt32) {
            flush()
            word.append(scalar: v)
            flush()
        }
        var i = 0
        let n = bytes.count
        while i < n {
            if ids.count > budget { return } // enough tokens for the truncated output
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { flush() }
                else if b < 0x20 || b == 0x7F { continue } // control characters vanish
                else if BertNormalizer.isASCIIPunctuation(b) { isolated(UInt32(b)) }
                else if lowercase && b >= 0x41 && b <= 0x5A { word.append(scalar: UInt32(b | 0x20)) }
                else { word.append(scalar: UInt32(b)) }
                continue
            }
            // Decode one multi-byte scalar (Swift strings hold valid UTF-8).
            var v: UInt32
            let length: Int
            if b >= 0xF0 { v = UInt32(b & 0x07); length = 4 }
            else if b >= 0xE0 { v = UInt32(b & 0x0F); length = 3 }
            else { v = UInt32(b & 0x1F); length = 2 }
            for k in 1..<length { v = (v << 6) | UInt32(bytes[i + k] & 0x3F) }
            i += length
            for out in normalizer.expand(v) {
                if out == ScalarAction.space { flush() }
                else if out & ScalarAction.isolatedFlag != 0 { isolated(out & ~ScalarAction.isolatedFlag) }
                else { word.append(scalar: out) }
            }
        }
        flush()
    }

    /// Greedy longest-match-first WordPiece of one word; the whole word is [UNK] when any part fails.
    private func appendPieces(of word: inout WordState, to ids: inout [Int32]) {
        defer { word.bytes.removeAll(keepingCapacity: true); word.characters = 0 }
        if word.characters > maxCharsPerWord { ids.append(unkId); return }
        let mark = ids.count
        let ok: Bool = word.bytes.withUnsafeBufferPointer { w in
            let n = w.count
            var start = 0
            while start < n {
                let table = start == 0 ? vocabulary.initial : vocabulary.continuation
                var end = min(n, start + table.maxKeyLength)
                var found: Int32? = nil
                while end > start {
                    // Only cut at scalar boundaries.
                    if end < n && (w[end] & 0xC0) == 0x80 { end -= 1; continue }
                    if let id = table.lookup(UnsafeBufferPointer(rebasing: w[start..<end])) { found = id; break }
                    end -= 1
                }
                guard let id = found else { return false }
                ids.append(id)
                start = end
            }
            return true
        }
        if !ok { ids.removeLast(ids.count - mark); ids.append(unkId) }
    }

    /// Pads token id lists to the longest one with [PAD]; the mask is 1 on real tokens.
    public func padBatch(_ sequences: [[Int32]]) -> (inputIds: [[Int32]], attentionMask: [[Int32]]) {
        let longest = sequences.map(\.count).max() ?? 0
        let ids = sequences.map { $0 + [Int32](repeating: padId, count: longest - $0.count) }
        let mask = sequences.map { [Int32](repeating: 1, count: $0.count) + [Int32](repeating: 0, count: longest - $0.count) }
        return (ids, mask)
    }
}
