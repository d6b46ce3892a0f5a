// The batch log's file on its own: lines that read back as the texts given (quotes, newlines, slashes, Unicode),
// and a resume's cut, which reads backwards in blocks, across lines longer than a block and a torn last line.
import Foundation
import XCTest
@testable import LodestoneCore

final class BatchLogFileTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = temporaryDirectory("batch-log") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func line(_ step: Int, words: Int = 3) -> String {
        BatchLog.line(step: step, file: "data/f.json.gz", columns: [[String(repeating: "w\(step) ", count: words)], ["p\(step)"]])
    }

    func testLinesReadBackAsTheTextsGiven() throws {
        let columns = [["say \"hi\"\nthen go", "a/b \\ c", "naïve café 東京 🙂"], ["\t", "", "x"]]
        let text = BatchLog.line(step: 12, file: "data/q\"uote.json.gz", columns: columns)
        XCTAssertTrue(text.hasPrefix("{\"step\": 12, ") && text.hasSuffix("}\n") && text.filter { $0 == "\n" }.count == 1, text)
        let back = try JSONDecoder().decode(LoggedBatch.self, from: Data(text.utf8))
        XCTAssertEqual(back.step, 12)
        XCTAssertEqual(back.file, "data/q\"uote.json.gz")
        XCTAssertEqual(back.columns, columns)
    }

    func testResumeCutsAfterTheCheckpointsStepAcrossLongLinesAndATornTail() throws {
        let url = dir.appendingPathComponent("b.jsonl")
        // Step 3's line is several of the cut's 64 KiB blocks long.
        let lines = (1...5).map { line($0, words: $0 == 3 ? 60_000 : 3) }
        let torn = String(line(6).prefix(20))
        for (keep, expected) in [(5, 5), (3, 3), (2, 2), (0, 0), (9, 5)] {
            try Data((lines.joined() + torn).utf8).write(to: url)
            let log = try BatchLog(url: url, keepThrough: keep)
            log.append(step: keep + 1, file: "data/f.json.gz", columns: [["next"], ["one"]])
            try log.flush()
            let kept = lines.prefix(expected).joined()
            let appended = BatchLog.line(step: keep + 1, file: "data/f.json.gz", columns: [["next"], ["one"]])
            XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), kept + appended, "kept through step \(keep)")
        }
    }

    func testAFreshRunEmptiesTheFileAndAResumeCreatesAMissingOne() throws {
        let url = dir.appendingPathComponent("b.jsonl")
        try Data((line(1) + line(2)).utf8).write(to: url)
        _ = try BatchLog(url: url, keepThrough: nil)
        XCTAssertEqual(try Data(contentsOf: url), Data())
        try FileManager.default.removeItem(at: url)
        _ = try BatchLog(url: url, keepThrough: 4)
        XCTAssertEqual(try Data(contentsOf: url), Data())
    }
}
