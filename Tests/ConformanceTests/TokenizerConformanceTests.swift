// Every case of text/tokenizer_cases.json under every fixtures root: ids from BertTokenizerFast
// (bert-base-uncased) must match exactly.
import Foundation
import XCTest
import LodestoneText

final class TokenizerConformanceTests: XCTestCase {
    struct Cases: Decodable {
        struct Case: Decodable { let text: String; let input_ids: [Int32]; let max_length: Int? }
        let cases: [Case]
        /// The vocabulary, as a path inside this package; absent: the root's mosaic-tiny/vocab.txt.
        let vocab: String?
    }

    /// The repo's copy of bert-base-uncased's vocabulary.
    let bertBaseUncased = FixtureRoots.packageRoot.appendingPathComponent("data/bert-base-uncased/vocab.txt")

    func testEveryTokenizerCaseMatchesBertTokenizerFast() throws {
        var roots = 0
        for root in try FixtureRoots.all() {
            guard let file = try FixtureRoots.file("text/tokenizer_cases.json", in: root) else { continue }
            roots += 1
            let label = FixtureRoots.label(file)
            let set = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: file))
            XCTAssertGreaterThan(set.cases.count, 0, "\(label): no tokenizer cases")
            let vocab = set.vocab.map { FixtureRoots.packageRoot.appendingPathComponent($0) }
                ?? root.appendingPathComponent("mosaic-tiny/vocab.txt")
            let tokenizer = try WordPieceTokenizer(vocabFile: vocab)
            var failures = 0
            for (index, c) in set.cases.enumerated() {
                let got = tokenizer.encode(c.text, maxLength: c.max_length)
                if got != c.input_ids {
                    failures += 1
                    if failures <= 15 {
                        let scalars = c.text.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ")
                        XCTFail("\(label) case \(index) \(c.text.debugDescription) [\(scalars)]\n expected \(tokenizer.tokens(of: c.input_ids))\n got      \(tokenizer.tokens(of: got))")
                    }
                }
            }
            XCTAssertEqual(failures, 0, "\(label): \(failures) of \(set.cases.count) tokenizer cases differ")
        }
        XCTAssertGreaterThan(roots, 0)
    }

    func testTokenizerJSONGivesTheSameIdsAsVocabTxt() throws {
        // all-MiniLM-L6-v2 ships both files (bert-base-uncased's vocabulary).
        let json = try MiniLMConformanceTests.modelDirectory().appendingPathComponent("tokenizer.json")
        let fromJSON = try WordPieceTokenizer(vocabulary: Vocabulary(tokenizerJSON: json))
        let fromTxt = try WordPieceTokenizer(vocabFile: bertBaseUncased)
        let text = "Héllo, wörld! Tokenizers split «punctuation» and 中文 characters; unaffable."
        XCTAssertEqual(fromJSON.encode(text), fromTxt.encode(text))
        XCTAssertEqual(fromJSON.vocabSize, 30522)
    }

    func testTruncationAndPadding() throws {
        let tokenizer = try WordPieceTokenizer(vocabFile: bertBaseUncased)
        let ids = tokenizer.encode("one two three four five", maxLength: 4)
        XCTAssertEqual(ids.count, 4)
        XCTAssertEqual(ids.first, 101); XCTAssertEqual(ids.last, 102)
        let (padded, mask) = tokenizer.padBatch([[101, 7, 102], [101, 102]])
        XCTAssertEqual(padded, [[101, 7, 102], [101, 102, 0]])
        XCTAssertEqual(mask, [[1, 1, 1], [1, 1, 0]])
    }
}
