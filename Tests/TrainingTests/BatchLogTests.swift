// `04-training --log-batches FILE`: the logged batch is what the loss received (step 1's loss, recomputed from
// the log with the initial weights through the inference path and a loss written out here, is loss.csv's
// first row), each step once after a kill and --resume, and a FILE that is a directory, an input or another
// output refused before any work. Uses TrainingCLITests' runner and MPITrainingTests' mpirun.
import Foundation
import XCTest
@testable import LodestoneCore

/// One line of the batch log, as a reader outside the trainer sees it.
struct LoggedBatch: Decodable {
    var step: Int
    var file: String
    var columns: [[String]]

    static func read(_ path: String) throws -> [LoggedBatch] {
        let text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(LoggedBatch.self, from: Data($0.utf8)) }
    }
}

/// sentence-transformers' MultipleNegativesRankingLoss, written out: for each anchor, cross-entropy over its
/// scaled cosines with every positive and negative of the batch, its own positive the target; the mean.
func referenceMNRL(_ columns: [[[Float]]], scale: Double = 20) -> Double {
    func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
        return dot / max(aa.squareRoot() * bb.squareRoot(), 1e-12)
    }
    let candidates = columns.dropFirst().flatMap { $0 }
    let losses = columns[0].enumerated().map { i, anchor -> Double in
        let scores = candidates.map { scale * cosine(anchor, $0) }
        let top = scores.max()!
        return top + log(scores.map { exp($0 - top) }.reduce(0, +)) - scores[i]
    }
    return losses.reduce(0, +) / Double(losses.count)
}

extension TrainingCLITests {
    var tinyModel: URL { RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny") }

    /// `common()`'s schedule on a store of triplets (anchor, positive, hard negative), dropout off.
    func tripletArgs() throws -> [String] {
        var args = try common() + ["--dropout", "off"]
        let store = try LocalStore(root: dir.appendingPathComponent("triplet-store"))
        try store.writeGzipLines(key: "data/triplets.json.gz", (0..<40).map {
            #"["question number \#($0) asks", "reply number \#($0) answers", "unrelated remark \#($0 * 7) here"]"#
        })
        let records = dir.appendingPathComponent("triplet-records.json")
        try DataRecords.write(["triplets.json.gz": 40], file: records, store: store)
        args[args.firstIndex(of: "--store")! + 1] = store.root.path
        args[args.firstIndex(of: "--records")! + 1] = records.path
        return args
    }

    /// Step 1's batch from the log, embedded with the fixture's initial weights by the inference path
    /// (SentenceModel, no prompt, the run's 10-token cap), one array of embeddings per column.
    func embedFirstBatch(_ log: String, columns expected: Int) throws -> [[[Float]]] {
        let batches = try LoggedBatch.read(log)
        XCTAssertEqual(batches.map(\.step), [1, 2])
        let first = try XCTUnwrap(batches.first)
        XCTAssertEqual(first.file, "data/triplets.json.gz")
        XCTAssertEqual(first.columns.count, expected)
        XCTAssertTrue(first.columns.allSatisfy { $0.count == 4 }, "\(first.columns)")
        let model = try SentenceModel.load(tinyModel, maxSeqLength: 10)
        return try first.columns.map { try model.embed($0, prompt: .none) }
    }

    func firstLoss(_ output: String) throws -> Double {
        try XCTUnwrap(LossLog.read(URL(fileURLWithPath: output + "/loss.csv")).first).loss
    }

    func testFirstStepLossIsMNRLOfTheLoggedBatch() throws {
        let out = dir.appendingPathComponent("mnrl").path, log = dir.appendingPathComponent("batches.jsonl").path
        let r = try run(try tripletArgs() + ["--output", out, "--max-steps", "2", "--log-batches", log])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains(log), "the summary names the batch log: \(r.output)")
        let expected = referenceMNRL(try embedFirstBatch(log, columns: 3))
        XCTAssertEqual(try firstLoss(out), expected, accuracy: 1e-4)
    }

    func testFirstStepLossIsMatryoshkaOfTheLoggedBatch() throws {
        let out = dir.appendingPathComponent("matryoshka").path, log = dir.appendingPathComponent("batches.jsonl").path
        let r = try run(try tripletArgs() + ["--output", out, "--max-steps", "2", "--log-batches", log,
                                             "--loss", "matryoshka", "--matryoshka-dims", "8,24,16", "--matryoshka-weights", "2,1,0.5"])
        XCTAssertEqual(r.status, 0, r.output)
        let full = try embedFirstBatch(log, columns: 3)
        // Each width: the embeddings' first d dimensions (the cosine normalizes them), weighted, summed.
        let expected = [(8, 2.0), (24, 1.0), (16, 0.5)].map { d, w in
            w * referenceMNRL(full.map { $0.map { Array($0.prefix(d)) } })
        }.reduce(0, +)
        XCTAssertEqual(try firstLoss(out), expected, accuracy: 1e-4)
    }

    /// Killed (kill -9) after the log had a step past the checkpoint, and with a torn line added: --resume
    /// leaves each step once, the unbroken run's bytes. Also across a failed epoch (a NaN's rollback).
    func testBatchLogAfterKillAndResumeHasEachStepOnce() throws {
        for (faults, steps) in [("crash@4", 4), ("nan@1,crash@3", 3)] {
            let tag = faults.replacingOccurrences(of: ",", with: "-")
            let common = try tripletArgs()
            let nan = faults.hasPrefix("nan") ? ["LODESTONE_FAULTS": "nan@1"] : [:]
            let a = dir.appendingPathComponent("a-" + tag).path, b = dir.appendingPathComponent("b-" + tag).path
            let straight = try run(common + ["--output", a, "--log-batches", a + ".jsonl"], env: nan)
            XCTAssertEqual(straight.status, 0, straight.output)
            let killed = try run(common + ["--output", b, "--log-batches", b + ".jsonl"], env: ["LODESTONE_FAULTS": faults])
            XCTAssertTrue(killed.signaled, "\(faults): \(killed.output)")
            let beforeResume = try LoggedBatch.read(b + ".jsonl").map(\.step)
            XCTAssertEqual(beforeResume, Array(1..<steps), "\(faults): the kill left a step after the checkpoint")
            let torn = try FileHandle(forWritingTo: URL(fileURLWithPath: b + ".jsonl"))
            try torn.seekToEnd(); try torn.write(contentsOf: Data(#"{"step": \#(steps), "file": "da"#.utf8)); try torn.close()

            let resumed = try run(common + ["--output", b, "--log-batches", b + ".jsonl", "--resume"])
            XCTAssertEqual(resumed.status, 0, resumed.output)
            XCTAssertEqual(try LoggedBatch.read(b + ".jsonl").map(\.step), Array(1...steps), faults)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a + ".jsonl")), try Data(contentsOf: URL(fileURLWithPath: b + ".jsonl")), faults)
            XCTAssertEqual(try LossLog.read(URL(fileURLWithPath: b + "/loss.csv")).count, steps, "one loss row per logged step")
        }
    }

    func testBatchLogThatIsADirectoryAnInputOrAnotherOutputIsRefused() throws {
        let common = try tripletArgs()
        let out = dir.appendingPathComponent("never").path
        let records = common[common.firstIndex(of: "--records")! + 1]
        let cases = [(dir.path, "cannot write: is a directory"),
                     (records, "is --records"),
                     (tinyModel.path + "/batches.jsonl", "is inside --model"),
                     (out, "is --output"),
                     (out + "/loss.csv", "another output of this run"),
                     (out + "/./train_logs.txt", "another output of this run"),
                     (out + "/model/batches.jsonl", "which this run writes"),
                     (out + "/checkpoints/b.jsonl", "which this run writes")]
        for (file, words) in cases {
            let r = try run(common + ["--output", out, "--log-batches", file])
            XCTAssertEqual(r.status, 1, "\(file): \(r.output)")
            XCTAssertEqual(errorLines(r.output).count, 1, r.output)
            XCTAssertTrue(r.output.contains(words), "\(file): \(r.output)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written for \(file)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tinyModel.path + "/batches.jsonl"))
    }
}

extension MPITrainingTests {
    /// Under mpirun rank 0 alone writes the log, and it is the one process's: every rank draws the global batch.
    func testTwoRanksLogTheBatchesOfOneProcess() throws {
        _ = try mpirun()
        let common = try common(triplets: true)
        let one = try train(ranks: 0, common + ["--output", output("one"), "--log-batches", output("one.jsonl")])
        XCTAssertEqual(one.status, 0, one.output)
        let two = try train(ranks: 2, common + ["--output", output("two"), "--log-batches", output("two.jsonl")])
        XCTAssertEqual(two.status, 0, two.output)
        let logged = try String(contentsOf: URL(fileURLWithPath: output("two.jsonl")), encoding: .utf8)
        XCTAssertEqual(logged.split(separator: "\n").count, 6)
        XCTAssertEqual(logged, try String(contentsOf: URL(fileURLWithPath: output("one.jsonl")), encoding: .utf8))
    }
}
