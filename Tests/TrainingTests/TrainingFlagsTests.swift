// 04-training on bad flag values and bad files (issue 16, defects 11-14): every bad value, as a flag or in --config,
// exits 64 with the usage text (negative numbers included); broken files are one line naming them; an undefined
// evaluation metric never reaches eval.csv as NaN.
import Foundation
import XCTest
@testable import LodestoneCore

final class TrainingFlagsTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = temporaryDirectory("training-flags") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func run(_ args: [String]) throws -> (status: Int32, output: String) {
        try runProduct("04-training", args, near: Self.self)
    }

    /// A 40-pair store, its records file and the mosaic-tiny model: 1 chunk × 1 epoch × 2 steps of 4 pairs.
    func small() throws -> [String] {
        let store = try LocalStore(root: dir.appendingPathComponent("store"))
        try store.writeGzipLines(key: "data/pairs.json.gz", (0..<40).map { #"["question number \#($0)", "reply number \#($0)"]"# })
        try DataRecords.write(["pairs.json.gz": 40], file: dir.appendingPathComponent("records.json"), store: store)
        return ["--store", store.root.path, "--records", dir.appendingPathComponent("records.json").path,
                "--model", RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny").path,
                "--cycles", "1", "--chunks", "1", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4",
                "--max-seq-length", "10", "--lr", "1e-3", "--warmup-steps", "0", "--threads", "1"]
    }

    func assertUsageError(_ r: (status: Int32, output: String), _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 64, r.output, file: file, line: line)
        XCTAssertTrue(r.output.contains(message), "expected '\(message)' in: \(r.output)", file: file, line: line)
        XCTAssertTrue(r.output.contains("Usage:"), r.output, file: file, line: line)
        XCTAssertFalse(r.output.contains("Missing value"), r.output, file: file, line: line)
    }

    func testEveryBadFlagValueExits64() throws {
        let out = dir.appendingPathComponent("never").path
        for (flag, value, message) in [("--memory-budget", "abc", "--memory-budget: expected a size"),
                                       ("--memory-budget", "0", "--memory-budget: expected a size"),
                                       ("--dropout", "1.5", "--dropout: must be auto, off or a probability in [0, 1), found 1.5"),
                                       ("--dropout", "nan", "--dropout: must be auto, off or a probability in [0, 1), found 'nan'"),
                                       ("--dropout", "-0.1", "--dropout: must be auto, off or a probability in [0, 1), found -0.1"),
                                       ("--mini-batch-size", "0", "--mini-batch-size: must be at least 1"),
                                       ("--lr", "nan", "--lr: must be positive"),
                                       ("--lr", "-1e-3", "--lr: must be positive"),
                                       ("--max-seq-length", "1", "--max-seq-length: must be at least 2"),
                                       ("--max-steps", "-3", "--max-steps: must not be negative"),
                                       ("--threads", "-2", "--threads must be at least 1, found -2")] {
            assertUsageError(try run(["--output", out, flag, value]), message)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testBadConfigValuesExit64NamingFileAndKey() throws {
        let config = dir.appendingPathComponent("hp.json")
        for (json, key) in [(#"{"dropout": 1.5}"#, "dropout"), (#"{"max_seq_length": 1}"#, "max_seq_length"),
                            (#"{"memory_budget": "0"}"#, "memory_budget"), (#"{"mini_batch_size": 0}"#, "mini_batch_size")] {
            try Data(json.utf8).write(to: config)
            assertUsageError(try run(["--config", config.path]), "\(config.path): field '\(key)'")
        }
        try Data(#"{"lr": 1e-3,"#.utf8).write(to: config)
        assertUsageError(try run(["--config", config.path]), "\(config.path): not valid JSON: it ends early")
        let folder = dir.appendingPathComponent("a-folder")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let r = try run(["--config", folder.path])
        assertUsageError(r, "\(folder.path): cannot read: is a directory")
        XCTAssertFalse(r.output.contains("cannot read: cannot read"), r.output)
    }

    func testLossFlagsExit64() throws {
        let out = dir.appendingPathComponent("never").path
        let model = RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny").path   // hidden 24
        let m = ["--loss", "matryoshka"]
        let guide = ["--loss", "gist", "--guide-model", model]
        for (args, message) in [(["--loss", "cosine"], "--loss: must be one of mnrl, matryoshka, gist, found 'cosine'"),
                                (["--loss", "gist"], "--guide-model: loss gist needs its guide model (--guide-model DIR)"),
                                (["--guide-model", model], "--guide-model: only with loss gist"),
                                (m + ["--matryoshka-dims", "8", "--gist-margin", "0.1"], "--gist-margin: only with loss gist"),
                                (guide + ["--gist-temperature", "0"], "--gist-temperature: must be positive"),
                                (guide + ["--gist-margin-strategy", "cosine"], "--gist-margin-strategy: must be absolute or relative, found 'cosine'"),
                                (m, "--matryoshka-dims: loss matryoshka needs its widths"),
                                (["--matryoshka-dims", "8,4"], "--matryoshka-dims: only with loss matryoshka"),
                                (["--loss", "mnrl", "--matryoshka-weights", "1"], "--matryoshka-weights: only with loss matryoshka"),
                                (m + ["--matryoshka-dims", "8,x"], "--matryoshka-dims: expected comma-separated positive integers, found '8,x'"),
                                (m + ["--matryoshka-dims", "8,0"], "--matryoshka-dims: must be positive integers, found [8, 0]"),
                                (m + ["--matryoshka-dims", "8,4", "--matryoshka-weights", "1"], "--matryoshka-weights: 1 weight(s) for 2 dims"),
                                (m + ["--matryoshka-dims", "8,4", "--matryoshka-weights", "1,-1"], "--matryoshka-weights: must be numbers ≥ 0"),
                                (m + ["--matryoshka-dims", "8,4", "--matryoshka-weights", "1,nan"], "--matryoshka-weights: expected comma-separated numbers"),
                                (m + ["--matryoshka-dims", "8,32,4", "--model", model], "--matryoshka-dims: 32 is larger than the model's embedding dimension 24")] {
            assertUsageError(try run(["--output", out] + args), message)
        }
        let config = dir.appendingPathComponent("hp.json")
        for (json, key) in [(#"{"loss": "cosine"}"#, "loss"), (#"{"loss": "gist"}"#, "guide_model"), (#"{"loss": "matryoshka"}"#, "matryoshka_dims"),
                            (#"{"loss": "matryoshka", "matryoshka_dims": [8], "matryoshka_weights": [1, 2]}"#, "matryoshka_weights")] {
            try Data(json.utf8).write(to: config)
            assertUsageError(try run(["--config", config.path, "--output", out]), "\(config.path): field '\(key)'")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// A Matryoshka run trains, names its loss, and its model records the widths (largest first).
    func testMatryoshkaRunRecordsItsDimsInTheModel() throws {
        let out = dir.appendingPathComponent("out")
        let pairs = dir.appendingPathComponent("eval.jsonl")
        try Data((0..<6).map { #"{"anchor": "question number \#($0)", "positive": "reply number \#($0)"}"# }.joined(separator: "\n").utf8).write(to: pairs)
        let r = try run(try small() + ["--output", out.path, "--loss", "matryoshka", "--matryoshka-dims", "4,16,8",
                                       "--matryoshka-weights", "0.5,1,1", "--eval", pairs.path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("MatryoshkaLoss(MultipleNegativesRankingLoss(scale 20.0), dims 4,16,8, weights 0.5,1,1)"), r.output)
        let url = out.appendingPathComponent("model/config_sentence_transformers.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        XCTAssertEqual(json?["matryoshka_dims"] as? [Int], [16, 8, 4])
        // --eval scores every width, largest first, named as sentence-transformers' dim_<d>_ evaluators; a panel each.
        let rows = try EvalLog.read(out.appendingPathComponent("eval.csv")).filter(\.primary)
        XCTAssertEqual(rows.map(\.metric), ["dim_16_cosine_mrr@10", "dim_8_cosine_mrr@10", "dim_4_cosine_mrr@10"])
        let svg = try String(contentsOf: out.appendingPathComponent("loss.svg"), encoding: .utf8)
        for d in [16, 8, 4] { XCTAssertTrue(svg.contains(">evaluation, \(d) dims<"), "panel for \(d)") }
        XCTAssertTrue(r.output.contains("best epoch:"), r.output)
        XCTAssertTrue(r.output.contains("dim_16_cosine_mrr@10"), r.output)
    }

    /// A GIST run trains with a guide of another architecture and tokenizer (BERT guiding MosaicBERT), names its
    /// loss, and its card says so; an --output inside the guide's directory is refused.
    func testGISTRunTrainsWithAGuideModel() throws {
        let out = dir.appendingPathComponent("out")
        let guide = RealModelTrainingTests.fixtures.appendingPathComponent("bert-tiny").path
        let r = try run(try small() + ["--output", out.path, "--loss", "gist", "--guide-model", guide, "--gist-margin", "0.05"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("guide: \(guide), "), r.output)
        XCTAssertTrue(r.output.contains("GISTEmbedLoss(guide \(guide), temperature 0.01, absolute margin 0.05)"), r.output)
        let losses = try String(contentsOf: out.appendingPathComponent("loss.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertFalse(losses.isEmpty)
        let card = try String(contentsOf: out.appendingPathComponent("model/README.md"), encoding: .utf8)
        XCTAssertTrue(card.contains("GISTEmbedLoss(guide=\(guide))"), card)
        XCTAssertTrue(card.contains("| guide_model | \(guide) |"), card)
        let inside = URL(fileURLWithPath: guide).appendingPathComponent("run").path
        let refused = try run(try small() + ["--output", inside, "--loss", "gist", "--guide-model", guide])
        XCTAssertNotEqual(refused.status, 0, refused.output)
        XCTAssertTrue(refused.output.contains("--guide-model"), refused.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: inside))
    }

    func testRecordsFileThatIsNotJSONIsNamedWithoutFoundationsText() throws {
        var args = try small()
        let records = dir.appendingPathComponent("records.json")
        try Data("pairs.json.gz 40\n".utf8).write(to: records)
        args += ["--output", dir.appendingPathComponent("out").path]
        let r = try run(args)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("\(records.path): not valid JSON at line 1, column 1"), r.output)
        XCTAssertFalse(r.output.contains("couldn"), r.output)
        XCTAssertFalse(r.output.contains("Error Domain"), r.output)
    }

    func testBatchWhoseScoreMatrixDoesNotFitSaysSo() throws {
        var args = try small()
        args[args.firstIndex(of: "--batch-size")! + 1] = "20000"
        let r = try run(args + ["--memory-budget", "2G", "--output", dir.appendingPathComponent("out").path])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("too small for a batch of 20000 pairs"), r.output)
        XCTAssertTrue(r.output.contains("20000 × 20000 score matrices"), r.output)
        XCTAssertTrue(r.output.contains("smaller batch_size"), r.output)
        XCTAssertFalse(r.output.contains("max_seq_length"), r.output)
    }

    func testTruncatedCheckpointStateIsNamedWithWhatIsWrong() throws {
        let args = try small() + ["--output", dir.appendingPathComponent("out").path]
        XCTAssertEqual(try run(args + ["--max-steps", "1"]).status, 0)
        let checkpoints = dir.appendingPathComponent("out/checkpoints")
        let state = try XCTUnwrap(FileManager.default.subpathsOfDirectory(atPath: checkpoints.path).first { $0.hasSuffix("state.json") })
        let url = checkpoints.appendingPathComponent(state)
        let whole = try Data(contentsOf: url)
        try whole.prefix(whole.count / 2).write(to: url)
        let r = try run(args + ["--resume"])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains(state), r.output)
        XCTAssertTrue(r.output.contains("state.json: unreadable: not valid JSON (truncated or damaged)"), r.output)
        XCTAssertFalse(r.output.contains("cannot read"), r.output)
    }

    func testUndefinedEvaluationMetricNeverReachesEvalCSV() throws {
        let tsv = dir.appendingPathComponent("constant.tsv")
        try Data("sentence1\tsentence2\tscore\na b\tc d\t1\ne f\tg h\t1\n".utf8).write(to: tsv)
        let out = dir.appendingPathComponent("out")
        let r = try run(try small() + ["--output", out.path, "--eval", tsv.path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("\(tsv.path): pearson_cosine and spearman_cosine undefined"), r.output)
        let csv = try String(contentsOf: out.appendingPathComponent("eval.csv"), encoding: .utf8)
        XCTAssertFalse(csv.lowercased().contains("nan"), csv)
    }

    /// Under mpirun every rank parses the same flags: the usage error is printed once (by rank 0), and the job exits 64.
    func testUsageErrorUnderMPIRunIsPrintedOnce() throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let mpirun = path.split(separator: ":").map({ URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else { throw XCTSkip("mpirun is not on PATH") }
        let bundle = Bundle(for: Self.self).bundleURL
        let executable = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("04-training") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }!
        let p = Process()
        p.executableURL = mpirun
        p.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "3", executable.path, "--dropout", "-0.1"]
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertNotEqual(p.terminationStatus, 0, output)
        XCTAssertEqual(output.components(separatedBy: "--dropout: must be auto, off or a probability").count - 1, 1, output)
        XCTAssertEqual(output.components(separatedBy: "Usage:").count - 1, 1, output)
    }
}
