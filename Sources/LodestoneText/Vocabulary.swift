// The WordPiece vocabulary: token ids looked up straight from UTF-8 byte slices, so that
// tokenizing never builds a String per word piece.
import Foundation

/// Errors while loading a vocabulary; each names the file and what is wrong.
public enum VocabularyError: Error, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case empty(file: String)
    case missingToken(file: String, token: String)
    case malformed(file: String, field: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read vocabulary: \(reason)"
        case let .empty(file): return "\(file): vocabulary is empty"
        case let .missingToken(file, token): return "\(file): vocabulary lacks the special token \(token)"
        case let .malformed(file, field, reason): return "\(file): field \(field): \(reason)"
        }
    }
}

/// Open-addressing hash table from byte strings to ids; keys live in one arena.
struct ByteKeyTable {
    private var arena: [UInt8] = []
    private var slotOffset: [Int32]
    private var slotLength: [Int32]
    private var slotId: [Int32]
    private let mask: Int
    private(set) var maxKeyLength = 0

    init(capacityFor count: Int) {
        var capacity = 16
        while capacity < count * 2 { capacity <<= 1 }
        slotOffset = [Int32](repeating: -1, count: capacity)
        slotLength = [Int32](repeating: 0, count: capacity)
        slotId = [Int32](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    @inline(__always) static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// Inserts or overwrites (a later duplicate line wins, as in the Python loader).
    mutating func insert(_ key: [UInt8], id: Int32) {
        key.withUnsafeBufferPointer { k in
            var slot = ByteKeyTable.hash(k) & mask
            while slotOffset[slot] >= 0 {
                if equal(slot, k) { slotId[slot] = id; return }
                slot = (slot + 1) & mask
            }
            slotOffset[slot] = Int32(arena.count)
            slotLength[slot] = Int32(k.count)
            slotId[slot] = id
            arena.append(contentsOf: k)
            maxKeyLength = max(maxKeyLength, k.count)
        }
    }

    @inline(__always) private func equal(_ slot: Int, _ k: UnsafeBufferPointer<UInt8>) -> Bool {
        let length = Int(slotLength[slot])
        guard length == k.count else { return false }
        let offset = Int(slotOffset[slot])
        return arena.withUnsafeBufferPointer { a in
            for i in 0..<length where a[offset + i] != k[i] { return false }
            return true
        }
    }

    @inline(__always) func lookup(_ k: UnsafeBufferPointer<UInt8>) -> Int32? {
        var slot = ByteKeyTable.hash(k) & mask
        while slotOffset[slot] >= 0 {
            if equal(slot, k) { return slotId[slot] }
            slot = (slot + 1) & mask
        }
        return nil
    }
}

/// Token ↔ id maps of a WordPiece vocabulary. Word-initial pieces and `##` continuations are kept in
/// two tables, the latter without its `##`, so a lookup never copies bytes.
public struct Vocabulary: Sendable {
    public let tokens: [String]
    let initial: ByteKeyTable
    let continuation: ByteKeyTable
    let idOfToken: [String: Int32]

    public var count: Int { tokens.count }
    public func id(of token: String) -> Int32? { idOfToken[token] }

    /// Builds from (token, id) pairs; ids must be 0..<n without gaps.
    init(pairs: [(String, Int32)], file: String) throws {
        guard !pairs.isEmpty else { throw VocabularyError.empty(file: file) }
        // Ids come from the file: one past the table (a gap, or 2³¹ − 1) would size the table from the file's word.
        if let (token, id) = pairs.first(where: { $0.1 < 0 || Int($0.1) >= pairs.count }) {
            throw VocabularyError.malformed(file: file, field: token, reason: "id \(id) outside 0..<\(pairs.count) (ids must number the tokens without gaps)")
        }
        let n = pairs.count
        var tokens = [String](repeating: "", count: n)
        var initial = ByteKeyTable(capacityFor: pairs.count)
        var continuation = ByteKeyTable(capacityFor: pairs.count)
        var idOfToken: [String: Int32] = [:]
        for (token, id) in pairs {
            tokens[Int(id)] = token
            idOfToken[token] = id
            let bytes = Array(token.utf8)
            if bytes.count > 2 && bytes[0] == 0x23 && bytes[1] == 0x23 {
                continuation.insert(Array(bytes[2...]), id: id)
            } else {
                initial.insert(bytes, id: id)
            }
        }
        self.tokens = tokens
        self.initial = initial
        self.continuation = continuation
        self.idOfToken = idOfToken
    }

    /// `vocab.txt`: one token per line, the id is the line number.
    public init(vocabFile url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw VocabularyError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        // Split the bytes at LF and drop one CR before it, as Hugging Face tokenizers reads vocab.txt. Not
        // `String.split(separator: "\n")`: Swift reads CR LF as one Character, so a CRLF file would be one line.
        var lines: [String] = []
        for (number, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let bytes = line.last == 0x0D ? line.dropLast() : line
            guard let token = String(validating: bytes, as: UTF8.self) else {
                throw VocabularyError.unreadable(file: url.path, reason: "line \(number + 1) is not UTF-8")
            }
            lines.append(token)
        }
        if lines.last == "" { lines.removeLast() }
        try self.init(pairs: lines.enumerated().map { ($0.element, Int32($0.offset)) }, file: url.path)
    }

    /// `tokenizer.json` (Hugging Face tokenizers): the WordPiece `model.vocab` object.
    public init(tokenizerJSON url: URL) throws {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) } catch {
            throw VocabularyError.unreadable(file: url.path, reason: "\(error)")
        }
        guard let model = (object as? [String: Any])?["model"] as? [String: Any] else {
            throw VocabularyError.malformed(file: url.path, field: "model", reason: "missing object")
        }
        if let type = model["type"] as? String, type != "WordPiece" {
            throw VocabularyError.malformed(file: url.path, field: "model.type", reason: "\(type) is not WordPiece")
        }
        guard let vocab = model["vocab"] as? [String: Any] else {
            throw VocabularyError.malformed(file: url.path, field: "model.vocab", reason: "missing object")
        }
        var pairs: [(String, Int32)] = []
        pairs.reserveCapacity(vocab.count)
        for (token, value) in vocab {
            guard let id = value as? Int, let id32 = Int32(exactly: id) else {
                throw VocabularyError.malformed(file: url.path, field: "model.vocab.\(token)", reason: "id \(value) is not an integer in 0..<2³¹")
            }
            pairs.append((token, id32))
        }
        try self.init(pairs: pairs, file: url.path)
    }
}
