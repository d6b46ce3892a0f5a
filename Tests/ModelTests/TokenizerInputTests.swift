// Vocabulary files that must be refused, and small behaviours known by construction.
import Foundation
import XCTest
import LodestoneText

final class TokenizerInputTests: XCTestCase {
    func writeVocab(_ lines: [String]) throws -> URL {
        let dir = try temporaryDirectory("vocab")
        let url = dir.appendingPathComponent("vocab.txt")
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testEmptyVocabularyIsAClearError() throws {
        let url = try writeVocab([])
        XCTAssertThrowsError(try WordPieceTokenizer(vocabFile: url)) { error in
            XCTAssertEqual("\(error)", "\(url.path): vocabulary is empty")
        }
    }

    func testVocabularyWithoutSpecialTokensIsRefused() throws {
        let url = try writeVocab(["[PAD]", "[CLS]", "[SEP]", "hello"])
        XCTAssertThrowsError(try WordPieceTokenizer(vocabFile: url)) { XCTAssertTrue("\($0)".contains("[UNK]"), "\($0)") }
        XCTAssertThrowsError(try WordPieceTokenizer(directory: url.deletingLastPathComponent().appendingPathComponent("none")))
    }

    func testGreedyLongestMatchOnATinyVocabulary() throws {
        // ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 un=4 ##aff=5 ##able=6 ##a=7 ,=8 e=9
        let url = try writeVocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "##a", ",", "e"])
        let t = try WordPieceTokenizer(vocabFile: url)
        XCTAssertEqual(t.encode("UNaffable,unx É"), [2, 4, 5, 6, 8, 1, 9, 3])
        // A word of exactly 100 characters is split; 101 characters make it [UNK].
        XCTAssertEqual(t.encode("un" + String(repeating: "a", count: 98)), [2, 4] + [Int32](repeating: 7, count: 98) + [3])
        XCTAssertEqual(t.encode("un" + String(repeating: "a", count: 99)), [2, 1, 3])
        XCTAssertEqual(t.encode("un\u{0}\u{200B}aff"), [2, 4, 5, 3])            // NUL and zero-width space vanish
    }
}
