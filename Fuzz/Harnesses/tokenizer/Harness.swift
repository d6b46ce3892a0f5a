// Tokenizer files of a model directory: vocab.txt, or tokenizer.json (the input's first part, split at a 0x00
// byte), then the tokenizer built on it encoding the input's second part, as 05 encodes a user's text.
import Foundation
import FuzzSupport
import LodestoneCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzz(data, size) { bytes in
        let parts = split(bytes, parts: 2)
        let text = String(decoding: parts[1], as: UTF8.self)
        let vocabulary = parts[0].first == UInt8(ascii: "{")
            ? try Vocabulary(tokenizerJSON: scratchFile("tokenizer.json", parts[0]))
            : try Vocabulary(vocabFile: scratchFile("vocab.txt", parts[0]))
        // vocab.txt is one token per line: a token holding a line feed means a line end was missed (CR LF was).
        if parts[0].first != UInt8(ascii: "{") {
            precondition(!vocabulary.tokens.contains { $0.unicodeScalars.contains("\n") }, "a vocab.txt token spans lines")
        }
        let tokenizer = try WordPieceTokenizer(vocabulary: vocabulary)
        let ids = tokenizer.encode(text, maxLength: 32)
        _ = tokenizer.tokens(of: ids)
        _ = tokenizer.padBatch([ids, tokenizer.encode(text)])
    }
}
