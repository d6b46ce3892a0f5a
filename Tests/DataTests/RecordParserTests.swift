import Foundation
import XCTest
@testable import LodestoneCore

final class RecordParserTests: XCTestCase {
    func ex(_ line: String) throws -> [[String]] { try RecordParser.examples(fromLine: line).map(\.texts) }

    func count(_ line: String) -> RecordScanner.Outcome {
        var copy = line
        return copy.withUTF8 { RecordParser.count(line: UnsafeRawBufferPointer($0)) }
    }

    func testEveryFormatYieldsTheDocumentedExamples() throws {
        XCTAssertEqual(try ex(#"["a", "b"]"#), [["a", "b"]])
        XCTAssertEqual(try ex(#"["a","b","n"]"#), [["a", "b", "n"]])
        XCTAssertEqual(try ex(#"{"texts": ["t", "b", "d"], "guid": 17}"#), [["t", "b", "d"]])
        XCTAssertEqual(try ex(#"{"guid": null, "texts": ["t", "b"]}"#), [["t", "b"]])
        XCTAssertEqual(try ex(#"{"set": ["s1", "s2", "s3", "s4"]}"#), [["s1", "s2"]])
        XCTAssertEqual(try ex(#"{"query": "q", "pos": ["p1", "p2", "p3"]}"#), [["q", "p1"], ["q", "p2"], ["q", "p3"]])
        XCTAssertEqual(try ex(#"{"pos": ["p1", "p2", "p3"], "neg": ["n1", "n2"], "query": "q"}"#),
                       [["q", "p1", "n1"], ["q", "p2", "n2"], ["q", "p3", "n1"]])
        XCTAssertEqual(try ex(#"{"query": "q", "pos": [], "neg": ["n"]}"#), [])
        XCTAssertEqual(try ex(#"{"query": "q", "pos": ["p"], "neg": []}"#), [["q", "p"]])
        XCTAssertEqual(try ex(#"{"title": "T", "body": "B", "subreddit": "r"}"#), [["T", "B"]])
        XCTAssertEqual(try ex(#"{"context": "C", "response": "R"}"#), [["R", "C"]])
    }

    func testFormatsAndCounts() {
        XCTAssertEqual(count(#"["a", "b"]"#), .record(.pairList, count: 1))
        XCTAssertEqual(count(#"["a", "b", "c"]"#), .record(.tripletList, count: 1))
        XCTAssertEqual(count(#"{"texts": ["a", "b"]}"#), .record(.texts, count: 1))
        XCTAssertEqual(count(#"{"set": ["a", "b", "c"]}"#), .record(.set, count: 1))
        XCTAssertEqual(count(#"{"query": "q", "pos": ["a", "b", "c", "d"]}"#), .record(.queryPos, count: 4))
        XCTAssertEqual(count(#"{"query": "q", "pos": ["a", "b"], "neg": ["c"]}"#), .record(.queryPosNeg, count: 2))
        XCTAssertEqual(count(#"{"title": "a", "body": "b", "subreddit": "c"}"#), .record(.redditTitleBody, count: 1))
        XCTAssertEqual(count(#"{"response": "a", "context": "b"}"#), .record(.redditContextResponse, count: 1))
        XCTAssertEqual(count(""), .blank)
        XCTAssertEqual(count("  \t "), .blank)
    }

    func testEscapesAreDecoded() throws {
        XCTAssertEqual(try ex(#"["say \"hi\"\n", "caf\u00e9 \ud83d\ude00 back\\slash\/ \t"]"#),
                       [["say \"hi\"\n", "café 😀 back\\slash/ \t"]])
        // A string ending in an escaped backslash closes at the next quote.
        XCTAssertEqual(try ex(#"["a\\", "b\\\\"]"#), [["a\\", "b\\\\"]])
        // Lone surrogates and invalid UTF-8 are repaired, not fatal.
        XCTAssertEqual(try ex(#"["x\ud800y", "ok"]"#), [["x\u{FFFD}y", "ok"]])
        let invalidUTF8: [UInt8] = Array(#"["a"#.utf8) + [0xFF] + Array(#"", "b"]"#.utf8)
        XCTAssertEqual(try RecordParser.examples(fromLine: invalidUTF8).map(\.texts), [["a\u{FFFD}", "b"]])
    }

    func testWhitespaceAroundTokens() throws {
        XCTAssertEqual(try ex(" \t{ \"query\" :\"q\" , \"pos\" : [ \"p\" , \"r\" ] }  \r"), [["q", "p"], ["q", "r"]])
    }

    func testMalformedLinesAreRejectedWithAReason() {
        let cases: [(String, String)] = [
            (#"{"texts": ["a", "b"]"#, "invalid JSON"),
            (#"["a", "b""#, "invalid JSON"),
            (#"["a" "b"]"#, "invalid JSON"),
            (#"["a", "b"] x"#, "unexpected data after the JSON value"),
            (#"["only one"]"#, "a list record needs at least 2 texts, found 1"),
            (#"["a", 3]"#, "a list record must hold only strings"),
            (#"{"set": ["one"]}"#, "field 'set' needs at least 2 texts, found 1"),
            (#"{"texts": "ab"}"#, "field 'texts' must be a list of strings"),
            (#"{"query": "q", "pos": "p"}"#, "field 'pos' must be a list of strings"),
            (#"{"query": 5, "pos": ["p"]}"#, "field 'query' must be a string"),
            (#"{"query": "q", "pos": ["p"], "neg": "n"}"#, "field 'neg' must be a list of strings"),
            (#"{"title": "t"}"#, "no record fields"),
            (#"{"title": "t", "body": null}"#, "field 'body' must be a string"),
            (#"{"context": "c", "response": ["r"]}"#, "field 'response' must be a string"),
            (#"{"other": [1, 2, {"x": true}]}"#, "no record fields"),
            (#"{}"#, "an empty object holds no texts"),
            (#""just a string""#, "not a JSON list or object"),
            (#"{"texts": ["a", "b"], "guid": tru}"#, "invalid JSON"),
            (#"{"texts": ["a", "b], "guid": 1}"#, "invalid JSON"),
            (String(repeating: "[", count: 10_000), "invalid JSON"),
        ]
        for (line, reason) in cases {
            XCTAssertThrowsError(try RecordParser.examples(fromLine: line), line) { error in
                guard let m = error as? MalformedRecord else { return XCTFail("\(line): \(error)") }
                XCTAssertTrue(m.reason.hasPrefix(reason), "\(line): got '\(m.reason)', expected '\(reason)'")
            }
            guard case .malformed = count(line) else { return XCTFail("\(line) counted as \(count(line))") }
        }
    }

    /// The rule shared with the trainer: for every line, the count equals the number of examples.
    func testCountEqualsExamplesOnARandomCorpus() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let line = randomLine(&rng)
            let outcome = count(line)
            switch outcome {
            case .blank: XCTAssertEqual(try ex(line), [])
            case .record(_, let n): XCTAssertEqual(try ex(line).count, n, line)
            case .malformed: XCTAssertThrowsError(try ex(line), line)
            }
        }
    }

    private func randomLine(_ rng: inout SystemRandomNumberGenerator) -> String {
        let texts = (0..<Int.random(in: 0...4, using: &rng)).map { _ in randomText(&rng) }
        var line: String
        switch Int.random(in: 0..<7, using: &rng) {
        case 0: line = json(texts)
        case 1: line = json(["texts": texts, "guid": 1])
        case 2: line = json(["set": texts])
        case 3: line = json(["query": "q", "pos": texts])
        case 4: line = json(["query": "q", "pos": texts, "neg": Array(texts.prefix(1))])
        case 5: line = json(["title": texts.first ?? "", "body": "b"])
        default: line = json(["context": "c", "response": texts.last ?? ""])
        }
        if Int.random(in: 0..<5, using: &rng) == 0 {   // damage one byte now and then
            var bytes = Array(line.utf8)
            bytes[Int.random(in: 0..<bytes.count, using: &rng)] = [0x22, 0x5B, 0x7D, 0x2C, 0x5C].randomElement(using: &rng)!
            line = String(decoding: bytes, as: UTF8.self)
        }
        return line
    }

    private func randomText(_ rng: inout SystemRandomNumberGenerator) -> String {
        String((0..<Int.random(in: 0...12, using: &rng)).map { _ in "ab \"\\é\n/😀{}[],:".randomElement(using: &rng)! })
    }
}
