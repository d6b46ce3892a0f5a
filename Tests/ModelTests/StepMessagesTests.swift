// 03-mosaic-model and 05-embed on bad flag values and bad files (issue 16, defects 11-13): a usage error exits 64 with
// ArgumentParser's usage text, negative numbers included; an undefined metric is null with a note, never NaN; a
// missing or broken file is one line naming it and saying what is wrong.
import Foundation
import XCTest
@testable import LodestoneCore

final class StepMessagesTests: XCTestCase {
    var root: URL!
    override func setUpWithError() throws { root = try temporaryDirectory("messages") }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    func write(_ text: String, _ name: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func run(_ step: String, _ args: [String]) throws -> StepResult { try runStep(step, args, testCase: Self.self) }

    func testBadNumbersAreUsageErrorsNegativeOnesIncluded() throws {
        let pairs = try write("{\"anchor\": \"a\", \"positive\": \"b\"}\n", "pairs.jsonl")
        let evaluate = ["evaluate", "--model", mosaicTiny.path, "--data", pairs.path]
        for (extra, message) in [(["--limit", "-3"], "--limit must be at least 1, found -3"),
                                 (["--batch-size", "-1"], "--batch-size must be at least 1, found -1"),
                                 (["--batch-size", "0"], "--batch-size must be at least 1, found 0"),
                                 (["--max-seq-length", "-5"], "--max-seq-length must be at least 2, found -5")] {
            let r = try run("05-embed", evaluate + extra)
            XCTAssertEqual(r.status, 64, r.output)
            XCTAssertTrue(r.output.contains(message), r.output)
            XCTAssertTrue(r.output.contains("Usage:"), r.output)
            XCTAssertFalse(r.output.contains("Missing value"), r.output)
        }
        let search = try run("05-embed", ["search", "--model", mosaicTiny.path, "--corpus", pairs.path, "--query", "q", "--top-k", "-2"])
        XCTAssertEqual(search.status, 64, search.output)
        XCTAssertTrue(search.output.contains("--top-k must be at least 1, found -2"), search.output)
        let prepare = try run("03-mosaic-model", ["--init-random", "x.json", "--max-seq-length", "-1"])
        XCTAssertEqual(prepare.status, 64, prepare.output)
        XCTAssertTrue(prepare.output.contains("--max-seq-length must be at least 2"), prepare.output)
    }

    func testConstantGoldScoresWriteNullAndANoteNotNaN() throws {
        let tsv = try write("sentence1\tsentence2\tscore\na man plays\ta guitar\t2\nthe sky\tis blue\t2\nrain\tfalls\t2\n", "constant.tsv")
        let json = root.appendingPathComponent("scores.json")
        let r = try run("05-embed", ["evaluate", "--model", mosaicTiny.path, "--data", tsv.path, "--json", json.path, "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertFalse(r.output.contains("nan"), r.output)
        XCTAssertFalse(r.output.contains("cannot read"), r.output)
        XCTAssertTrue(r.output.contains("pearson_cosine: undefined"), r.output)
        let notes = r.output.split(separator: "\n").filter { $0.contains("note:") }
        XCTAssertEqual(notes.count, 1, r.output)
        XCTAssertTrue(notes.first?.contains(tsv.path + ": pearson_cosine and spearman_cosine undefined: every gold score is 2.0") ?? false, r.output)
        let text = try String(contentsOf: json, encoding: .utf8)
        XCTAssertFalse(text.lowercased().contains("nan"), text)
        XCTAssertTrue(text.contains("\"pearson_cosine\" : null"), text)
        XCTAssertTrue(text.contains("\"notes\""), text)
    }

    func testInitRandomConfigThatIsMissingOrBrokenIsNamed() throws {
        let missing = root.appendingPathComponent("nosuch.json").path
        let r = try run("03-mosaic-model", ["--init-random", missing, "--tokenizer", mosaicTiny.path,
                                            "--output", root.appendingPathComponent("m").path])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("\(missing): cannot read: no such file or directory"), r.output)
        XCTAssertFalse(r.output.contains("not a JSON object"), r.output)
        let broken = try write("{\"hidden_size\": 8,\n \"num_hidden_layers\": ", "broken.json")
        let b = try run("03-mosaic-model", ["--init-random", broken.path, "--tokenizer", mosaicTiny.path,
                                            "--output", root.appendingPathComponent("m").path])
        XCTAssertEqual(b.status, 1, b.output)
        XCTAssertTrue(b.output.contains("\(broken.path): not valid JSON: it ends early (at byte 41): truncated?"), b.output)
    }
}
