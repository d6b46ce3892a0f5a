// Every case of text/tokenizer_cases.json: ids from BertTokenizerFast (bert-base-uncased) must match exactly.
import Foundation
import XCTest
import LodestoneText

final class TokenizerConformanceTests: XCTestCase {
    struct Cases: Decodable {
        struct Case: Decodable { let text: String; let input_ids: [Int32]; let max_length: Int? }
        let cases: [Case]
    }

    func testEveryTokenizerCaseMatchesBertTokenizerFast() throws {
        let root = ModelCase.fixturesRoot
        let data = try Data(contentsOf: root.appendingPathComponent("text/tokenizer_cases.json"))
        let cases = try JSONDecoder().decode(Cases.self, from: data).cases
        XCTAssertGreaterThan(cases.count, 0, "no tokenizer cases found")
        let tokenizer = try WordPieceTokenizer(vocabFile: root.appendingPathComponent("mosaic-tiny/vocab.txt"))
        var failures = 0
        for (index, c) in cases.enumerated() {
            let got = tokenizer.encode(c.text, maxLength: c.max_length)
            if got != c.input_ids {
                failures += 1
                if failures <= 15 {
                    let scalars = c.text.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ")
                    XCTFail("case \(index) \(c.text.debugDescription) [\(scalars)]\n expected \(tokenizer.tokens(of: c.input_ids))\n got      \(tokenizer.tokens(of: got))")
                }
            }
        }
        XCTAssertEqual(failures, 0, "\(failures) of \(cases.count) tokenizer cases differ")
    }

    func testTokenizerJSONGivesTheSameIdsAsVocabTxt() throws {
        // The MiniLM model ships both files; skip quietly only when it has not been fetched.
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["LODESTONE_MINILM"]
            ?? (NSHomeDirectory() + "/.cache/lodestone/all-MiniLM-L6-v2"))
        let json = dir.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: json.path) else { throw XCTSkip("no MiniLM tokenizer.json") }
        let fromJSON = try WordPieceTokenizer(vocabulary: Vocabulary(tokenizerJSON: json))
        let fromTxt = try WordPieceTokenizer(vocabFile: ModelCase.fixturesRoot.appendingPathComponent("mosaic-tiny/vocab.txt"))
        let text = "Héllo, wörld! Tokenizers split «punctuation» and 中文 characters; unaffable."
        XCTAssertEqual(fromJSON.encode(text), fromTxt.encode(text))
        XCTAssertEqual(fromJSON.vocabSize, 30522)
    }

    func testTruncationAndPadding() throws {
        let tokenizer = try WordPieceTokenizer(vocabFile: ModelCase.fixturesRoot.appendingPathComponent("mosaic-tiny/vocab.txt"))
        let ids = tokenizer.encode("one two three four five", maxLength: 4)
        XCTAssertEqual(ids.count, 4)
        XCTAssertEqual(ids.first, 101); XCTAssertEqual(ids.last, 102)
        let (padded, mask) = tokenizer.padBatch([[101, 7, 102], [101, 102]])
        XCTAssertEqual(padded, [[101, 7, 102], [101, 102, 0]])
        XCTAssertEqual(mask, [[1, 1, 1], [1, 1, 0]])
    }
}
