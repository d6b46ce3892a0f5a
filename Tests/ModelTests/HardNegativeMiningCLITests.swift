// `05-embed mine-hard-negatives` tried as a user would: bad flag values are usage errors (exit 64), outputs that
// are directories or inputs are refused in one line, a bad pairs line is named, and what it writes is what the
// trainer's record parser reads: one example per line, [anchor, positive, negatives…].
import Foundation
import XCTest
@testable import LodestoneCore

final class HardNegativeMiningCLITests: XCTestCase {
    var root: URL!
    override func setUpWithError() throws { root = try temporaryDirectory("mining") }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    /// 24 pairs over 6 topics; anchor 0 also has a second positive.
    func pairsFile() throws -> URL {
        let topics = ["tides", "bread", "magnets", "volcanoes", "chess", "coffee"]
        var lines: [String] = []
        for (t, topic) in topics.enumerated() {
            for i in 0..<4 {
                lines.append(#"{"anchor": "question \#(i) about \#(topic)?", "positive": "answer \#(i) on \#(topic), number \#(t * 4 + i)."}"#)
            }
        }
        lines.append(#"{"anchor": "question 0 about tides?", "positive": "another answer on tides."}"#)
        let url = root.appendingPathComponent("pairs.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
        return url
    }

    func mine(_ pairs: URL, _ output: String, _ extra: [String] = []) throws -> StepResult {
        try runStep("05-embed", ["mine-hard-negatives", "--model", mosaicTiny.path, "--data", pairs.path, "--output", output,
                                 "--threads", "1"] + extra, testCase: Self.self)
    }

    /// The examples the trainer's parser reads from a (gzip) JSON-lines file, one list per line.
    func trainingExamples(_ path: String) throws -> [[[String]]] {
        try TextFiles.readLines(path).map { try RecordParser.examples(fromLine: $0).map(\.texts) }
    }

    func testBadFlagValuesAreUsageErrors() throws {
        let pairs = try pairsFile(), out = root.appendingPathComponent("out.jsonl").path
        for (extra, message) in [(["--num-negatives", "0"], "--num-negatives must be at least 1, found 0"),
                                 (["--range-min", "-1"], "--range-min must be at least 0, found -1"),
                                 (["--range-min", "4", "--range-max", "4"], "--range-max must be larger than --range-min 4, found 4"),
                                 (["--num-negatives", "5", "--range-max", "3"], "--num-negatives 5 does not fit between --range-min 0 and --range-max 3"),
                                 (["--max-score", "nan"], "--max-score must be a finite number"),
                                 (["--min-score", "0.9", "--max-score", "0.5"], "--min-score 0.9 is above --max-score 0.5"),
                                 (["--sampling-strategy", "best"], "--sampling-strategy"),
                                 (["--batch-size", "0"], "--batch-size must be at least 1, found 0")] {
            let r = try mine(pairs, out, extra)
            XCTAssertEqual(r.status, 64, "\(extra): \(r.output)")
            XCTAssertTrue(r.output.contains(message), "expected '\(message)' in: \(r.output)")
            XCTAssertEqual(r.output.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count, 1, r.output)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }

    func testDirectoryOrInputAsOutputIsRefusedInOneLine() throws {
        let pairs = try pairsFile()
        let dir = root.appendingPathComponent("mined.jsonl")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: dir.appendingPathComponent("keep.txt"))
        for (output, words) in [(dir.path, [dir.path, "is a directory"]), (pairs.path, [pairs.path, "input"]),
                                (root.appendingPathComponent("out.csv").path, ["out.csv", "expected .jsonl or .json"])] {
            let r = try mine(pairs, output)
            XCTAssertEqual(r.status, 1, r.output)
            let errors = r.output.split(separator: "\n").filter { $0.contains("error:") }
            XCTAssertEqual(errors.count, 1, r.output)
            for w in words { XCTAssertTrue(errors.first?.contains(w) == true, "expected '\(w)' in: \(r.output)") }
            XCTAssertFalse(r.output.contains("Error Domain"), r.output)
        }
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("keep.txt"), encoding: .utf8), "precious")
        XCTAssertTrue(try String(contentsOf: pairs, encoding: .utf8).hasPrefix(#"{"anchor""#))
    }

    func testBadPairsLineIsNamed() throws {
        let bad = root.appendingPathComponent("bad.jsonl")
        try Data("{\"anchor\": \"a\", \"positive\": \"b\"}\n{\"anchor\": 3}\n".utf8).write(to: bad)
        let r = try mine(bad, root.appendingPathComponent("out.jsonl").path)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains(bad.path + ":2"), r.output)
    }

    func testOutputIsWhatTheTrainerReads() throws {
        let pairs = try pairsFile(), out = root.appendingPathComponent("mined.jsonl.gz").path
        let r = try mine(pairs, out, ["--num-negatives", "2"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("mined 25 rows [anchor, positive, 2 negatives] from 25 pairs"), r.output)
        let examples = try trainingExamples(out)
        XCTAssertEqual(examples.count, 25)
        let input = try TextFiles.readPairs(pairs.path)
        let positivesOf = Dictionary(grouping: input, by: \.0).mapValues { Set($0.map(\.1)) }
        for line in examples {
            XCTAssertEqual(line.count, 1, "one example per line")
            let texts = line[0]
            XCTAssertEqual(texts.count, 4)
            XCTAssertTrue(positivesOf[texts[0]]?.contains(texts[1]) == true, "\(texts)")
            for negative in texts.dropFirst(2) {
                XCTAssertFalse(positivesOf[texts[0]]!.contains(negative), "a positive is never a negative: \(texts)")
                XCTAssertNotEqual(negative, texts[0])
            }
            XCTAssertEqual(Set(texts.dropFirst(2)).count, 2, "distinct negatives: \(texts)")
        }
        // The anchor with two positives gives two rows with the same negatives, next to each other.
        let tides = examples.map { $0[0] }.filter { $0[0] == "question 0 about tides?" }
        XCTAssertEqual(tides.count, 2)
        XCTAssertEqual(tides[0].dropFirst(2), tides[1].dropFirst(2))
    }

    func testRandomSamplingIsSeeded() throws {
        let pairs = try pairsFile()
        func rows(_ seed: Int, _ name: String) throws -> [[String]] {
            let out = root.appendingPathComponent(name).path
            let r = try mine(pairs, out, ["--sampling-strategy", "random", "--seed", "\(seed)", "--range-max", "10"])
            XCTAssertEqual(r.status, 0, r.output)
            return try trainingExamples(out).map { $0[0] }
        }
        let first = try rows(7, "a.jsonl"), again = try rows(7, "b.jsonl"), other = try rows(8, "c.jsonl")
        XCTAssertEqual(first, again, "the same seed draws the same negatives")
        XCTAssertNotEqual(first, other, "another seed draws others")
        XCTAssertEqual(first.count, 25)
    }

    func testTooStrictFiltersSayWhatWasDroppedOrFail() throws {
        let pairs = try pairsFile(), out = root.appendingPathComponent("out.jsonl").path
        // The corpus is the 25 positives: 24 candidates for each anchor, 23 for the one with two positives, whose
        // two rows are dropped when 24 negatives are asked for.
        let some = try mine(pairs, out, ["--num-negatives", "24", "--range-max", "24"])
        XCTAssertEqual(some.status, 0, some.output)
        XCTAssertTrue(some.output.contains("dropped 2 of 25 rows (1 anchor): fewer than 24 negatives passed the filters"), some.output)
        XCTAssertEqual(try trainingExamples(out).count, 23)
        // Nothing passes: an error, and the previous output stays.
        let none = try mine(pairs, out, ["--max-score", "-1"])
        XCTAssertEqual(none.status, 1, none.output)
        XCTAssertTrue(none.output.contains("no anchor has 3 negatives that pass the filters"), none.output)
        XCTAssertEqual(try trainingExamples(out).count, 23)
    }
}
