// The documented path 05 mine-hard-negatives → 02 → 04: the mined file, put in the store, is read by the
// trainer's own example reader as [anchor, positive, negatives…], counted by 02, and trained on by 04.
import Foundation
import XCTest
@testable import LodestoneCore

final class MinedNegativesTrainingTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = temporaryDirectory("mined-negatives") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func run(_ product: String, _ args: [String]) throws -> (status: Int32, output: String) {
        try runProduct(product, args, near: Self.self)
    }

    func testMinedFileIsCountedAndTrainedOn() throws {
        let model = RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny").path
        let pairs = dir.appendingPathComponent("pairs.jsonl")
        try Data((0..<40).map { #"{"anchor": "question number \#($0)", "positive": "reply number \#($0)"}"# }
            .joined(separator: "\n").utf8).write(to: pairs)
        let store = try LocalStore(root: dir.appendingPathComponent("store"))
        let mined = store.root.appendingPathComponent("data/mined.jsonl.gz").path

        let mine = try run("05-embed", ["mine-hard-negatives", "--model", model, "--data", pairs.path, "--output", mined,
                                        "--num-negatives", "2", "--threads", "1"])
        XCTAssertEqual(mine.status, 0, mine.output)

        // 04's reader (gunzip + RecordScanner) gives one example per row, texts as written.
        let reader = EndlessExampleReader(key: "data/mined.jsonl.gz", maxWords: 100, open: storeExampleOpener(store: store))
        let rows = try TextFiles.readLines(mined).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String] }
        XCTAssertEqual(rows.count, 40)
        for row in rows { XCTAssertEqual(try reader.next().texts, row) }
        XCTAssertEqual(reader.examplesPerPass, nil, "not yet at the end")
        XCTAssertEqual(try reader.next().texts, rows[0], "the pass wraps around after 40")
        XCTAssertEqual(reader.examplesPerPass, 40)

        let records = dir.appendingPathComponent("records.json")
        let count = try run("02-data-records", ["--store", store.root.path, "--output", records.path])
        XCTAssertEqual(count.status, 0, count.output)
        XCTAssertEqual(try DataRecords.read(file: records), ["mined.jsonl.gz": 40])

        let train = try run("04-training", ["--store", store.root.path, "--records", records.path, "--model", model,
                                            "--output", dir.appendingPathComponent("run").path,
                                            "--cycles", "1", "--chunks", "1", "--epochs", "1", "--steps-per-epoch", "2",
                                            "--batch-size", "4", "--max-seq-length", "10", "--lr", "1e-3",
                                            "--warmup-steps", "0", "--threads", "1"])
        XCTAssertEqual(train.status, 0, train.output)
        let log = try String(contentsOf: dir.appendingPathComponent("run/train_logs.txt"), encoding: .utf8)
        XCTAssertTrue(log.contains("Succeeded"), log)
    }
}
