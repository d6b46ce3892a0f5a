// BERT text normalisation and pre-tokenisation, one Unicode scalar at a time, as Hugging Face's
// BertNormalizer + BertPreTokenizer do it: drop NUL/U+FFFD/control and format characters, turn
// whitespace into a space, isolate CJK ideographs, NFD + strip nonspacing marks, lower-case,
// isolate punctuation.
import Foundation

/// What one input scalar becomes. ASCII is decided inline by the tokenizer; everything else goes
/// through `BertNormalizer.expand`, whose answers are cached.
enum ScalarAction {
    /// Output scalars; `isolatedFlag` on a scalar marks it as a word of its own (CJK, punctuation);
    /// a space separates words; an empty list drops the input scalar.
    static let isolatedFlag: UInt32 = 0x8000_0000
    static let space: UInt32 = 0x20
}

final class BertNormalizer: @unchecked Sendable {
    let lowercase: Bool
    private var cache: [UInt32: [UInt32]] = [:]
    private let lock = NSLock()

    init(lowercase: Bool) { self.lowercase = lowercase }

    /// ASCII punctuation counts as punctuation even where Unicode calls it a symbol ($, +, <, =, >, ^, `, |, ~).
    @inline(__always) static func isASCIIPunctuation(_ b: UInt8) -> Bool {
        (b >= 33 && b <= 47) || (b >= 58 && b <= 64) || (b >= 91 && b <= 96) || (b >= 123 && b <= 126)
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.value < 128 { return isASCIIPunctuation(UInt8(s.value)) }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// Control as BERT means it: Cc, Cf, Co, Cs except tab, newline and return. Unassigned (Cn) scalars are
    /// kept, as the reference tokenizer keeps them (the word then becomes [UNK]).
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks (and compatibility ideographs) that BERT splits out.
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    /// The normalised output of one non-ASCII scalar (see `ScalarAction`).
    func expand(_ value: UInt32) -> [UInt32] {
        lock.lock()
        if let hit = cache[value] { lock.unlock(); return hit }
        lock.unlock()
        let result = compute(value)
        lock.lock()
        cache[value] = result
        lock.unlock()
        return result
    }

    private func compute(_ value: UInt32) -> [UInt32] {
        guard let scalar = Unicode.Scalar(value) else { return [] }
        if value == 0 || value == 0xFFFD || BertNormalizer.isControl(scalar) { return [] }
        if scalar.properties.isWhitespace { return [ScalarAction.space] }
        let cjk = BertNormalizer.isCJK(value)
        var out: [UInt32] = []
        for decomposed in decompose(scalar) {
            if lowercase && decomposed.properties.generalCategory == .nonspacingMark { continue }
            let mapped = lowercase ? Array(decomposed.properties.lowercaseMapping.unicodeScalars) : [decomposed]
            for s in mapped {
                if s.properties.isWhitespace { out.append(ScalarAction.space) }
                else if cjk || BertNormalizer.isPunctuation(s) { out.append(s.value | ScalarAction.isolatedFlag) }
                else { out.append(s.value) }
            }
        }
        return out
    }

    /// Canonical decomposition (NFD) of one scalar; only used when accents are stripped.
    private func decompose(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        guard lowercase else { return [scalar] }
        return Array(String(Character(scalar)).decomposedStringWithCanonicalMapping.unicodeScalars)
    }
}
