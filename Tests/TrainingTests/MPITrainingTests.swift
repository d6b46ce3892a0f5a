import Foundation
import XCTest
@testable import LodestoneCore

/// `mpirun -np 2 04-training` (issue 10), one BLAS thread per rank: the same parameters as one process with the
/// same global batch, a rank killed mid-epoch ending the job and `--resume` continuing exactly, and checkpoints
/// moving between 2-rank and 1-rank runs. Skipped, saying so, where mpirun is not installed.
final class MPITrainingTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = temporaryDirectory("mpi-training") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    var executable: URL {
        let bundle = Bundle(for: Self.self).bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("04-training") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    func mpirun() throws -> URL {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("mpirun is not on PATH: install openmpi-bin (Scripts/setup.sh does) to run the MPI training tests")
    }

    /// Runs 04-training plainly (ranks 0) or under `mpirun -np ranks`; output through a file, killed past 180 s.
    /// `secondRank`: other arguments for rank 1 (mpirun's `-np 1 A : -np 1 B`).
    func train(ranks: Int, _ args: [String], secondRank: [String]? = nil, env: [String: String] = [:]) throws -> (status: Int32, output: String) {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: executable.path), "\(executable.path) not built")
        let p = Process()
        if ranks == 0 {
            p.executableURL = executable
            p.arguments = args
        } else {
            p.executableURL = try mpirun()
            p.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", executable.path] + args
            if let secondRank {
                p.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "1", executable.path] + args + [":", "-np", "1", executable.path] + secondRank
            }
        }
        var environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        environment["OPENBLAS_NUM_THREADS"] = "1"
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"   // containers often forbid cross-process reads
        p.environment = environment
        let logURL = dir.appendingPathComponent("job-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        p.standardOutput = log; p.standardError = log
        let ended = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in ended.signal() }
        try p.run()
        if ended.wait(timeout: .now() + 180) == .timedOut {
            kill(p.processIdentifier, SIGKILL)
            _ = ended.wait(timeout: .now() + 10)
            XCTFail("04-training on \(ranks) rank(s) still running after 180 s")
        }
        return (p.terminationStatus, (try? String(contentsOf: logURL, encoding: .utf8)) ?? "")
    }

    /// A 40-line store (pairs, or triplets with a hard negative) and the flags of a 2 chunks × 1 epoch × 3 steps
    /// run of 4 pairs, one BLAS thread. lr 1e-4: AdamW scales every gradient to about lr, so float32 rounding of
    /// the gradient sums (another order on 2 ranks) moves a parameter by a share of lr; at 1e-4 the runs agree to
    /// about 2e-6 of each tensor's largest value (at 1e-3, 1e-5 was reached).
    func common(model: String = "mosaic-tiny", triplets: Bool = false) throws -> [String] {
        let store = try LocalStore(root: dir.appendingPathComponent("store-\(triplets)"))
        try store.writeGzipLines(key: "data/lines.json.gz", (0..<40).map {
            triplets ? #"["question number \#($0)", "reply number \#($0)", "unrelated remark \#($0 * 7)"]"#
                     : #"["question number \#($0)", "reply number \#($0)"]"#
        })
        let records = dir.appendingPathComponent("records-\(triplets).json")
        try DataRecords.write(["lines.json.gz": 40], file: records, store: store)
        return ["--store", store.root.path, "--records", records.path,
                "--model", RealModelTrainingTests.fixtures.appendingPathComponent(model).path,
                "--cycles", "1", "--chunks", "2", "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "4",
                "--max-seq-length", "12", "--lr", "1e-4", "--warmup-steps", "1", "--threads", "1"]
    }

    func output(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func parameters(_ modelDirectory: String) throws -> [String: TensorData] {
        try SafeTensors.read(URL(fileURLWithPath: modelDirectory).appendingPathComponent("model.safetensors"))
    }

    /// Largest |a − b| of a tensor over its largest |a|: float32 sums in another order (rank slices, the
    /// all-reduce) move the parameters by rounding only.
    func relativeDifference(_ a: [String: TensorData], _ b: [String: TensorData]) -> (worst: Double, name: String) {
        var worst = 0.0, worstName = ""
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (name, x) in a {
            guard let y = b[name], x.values.count == y.values.count else { XCTFail("\(name) differs in shape"); continue }
            let scale = Double(x.values.map { abs($0) }.max() ?? 0)
            let diff = Double(zip(x.values, y.values).map { abs($0 - $1) }.max() ?? 0)
            let relative = scale > 0 ? diff / scale : diff
            if relative > worst { worst = relative; worstName = name }
        }
        return (worst, worstName)
    }

    func assertSameTraining(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (worst, name) = relativeDifference(try parameters(a + "/model"), try parameters(b + "/model"))
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(name) differs by \(worst) of its largest value", file: file, line: line)
        XCTAssertEqual(text(a + "/train_logs.txt"), text(b + "/train_logs.txt"), file: file, line: line)
    }

    func text(_ path: String) -> String? { try? String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8) }

    func testTwoRanksTrainTheParametersOfOneProcessWithTheSameGlobalBatch() throws {
        _ = try mpirun()
        for (model, triplets) in [("mosaic-tiny", false), ("bert-tiny", false), ("mosaic-tiny", true), ("bert-tiny", true)] {
            let common = try common(model: model, triplets: triplets)
            let tag = "\(model)-\(triplets ? "triplets" : "pairs")"
            let one = try train(ranks: 0, common + ["--output", output("one-" + tag)])
            XCTAssertEqual(one.status, 0, one.output)
            let two = try train(ranks: 2, common + ["--output", output("two-" + tag)])
            XCTAssertEqual(two.status, 0, two.output)
            XCTAssertTrue(two.output.contains("mpi: 2 ranks"), two.output)
            XCTAssertEqual(two.output.components(separatedBy: "training finished").count, 2, "rank 0 alone reports: \(two.output)")
            try assertSameTraining(output("one-" + tag), output("two-" + tag))
            XCTAssertEqual(text(output("two-" + tag) + "/train_logs.txt")?.split(separator: "\n").count, 2)
            XCTAssertEqual(try LossLog.read(URL(fileURLWithPath: output("two-" + tag) + "/loss.csv")).count, 6)
            // The runs trained: the parameters moved far beyond the tolerance.
            let initial = try SafeTensors.read(RealModelTrainingTests.fixtures.appendingPathComponent(model + "/model.safetensors"))
            let trained = try parameters(output("two-" + tag) + "/model")
            let moved = relativeDifference(initial.filter { trained[$0.key] != nil }, trained.filter { initial[$0.key] != nil })
            XCTAssertGreaterThan(moved.worst, 1e-3, tag)
        }
    }

    func testRankKilledMidEpochEndsTheJobAndResumeEqualsTheUnbrokenRun() throws {
        let common = try common() + ["--checkpoint-every", "1"]
        let straight = try train(ranks: 2, common + ["--output", output("a")])
        XCTAssertEqual(straight.status, 0, straight.output)

        // Rank 1 dies by SIGKILL before step 5 (the second step of chunk 1's epoch).
        let killed = try train(ranks: 2, common + ["--output", output("b")], env: ["LODESTONE_FAULTS": "crash@5", "LODESTONE_FAULTS_RANK": "1"])
        XCTAssertNotEqual(killed.status, 0, killed.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output("b") + "/train_logs.txt.tmp"))
        XCTAssertEqual(text(output("b") + "/train_logs.txt")?.split(separator: "\n").count, 1, "only chunk 0's epoch finished")
        let resumed = try train(ranks: 2, common + ["--output", output("b"), "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("resumed at cycle 0, chunk 1, epoch 0, step 1 (4 steps run)"), resumed.output)
        for file in ["model/model.safetensors", "train_logs.txt", "loss.csv"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output("a") + "/" + file)),
                           try Data(contentsOf: URL(fileURLWithPath: output("b") + "/" + file)), file)
        }
    }

    /// A rank whose step outlasts --stall-timeout cannot fail the epoch alone: it ends the job, and --resume
    /// continues.
    func testStalledRankEndsTheJob() throws {
        let common = try common() + ["--output", output("s"), "--stall-timeout", "1"]
        let stalled = try train(ranks: 2, common, env: ["LODESTONE_FAULTS": "stall@2", "LODESTONE_FAULTS_RANK": "1"])
        XCTAssertNotEqual(stalled.status, 0, stalled.output)
        XCTAssertTrue(stalled.output.contains(" of 2: stalled: step 2 took"), stalled.output)
        XCTAssertTrue(stalled.output.contains("ending the job"), stalled.output)
        XCTAssertEqual(text(output("s") + "/train_logs.txt"), "", "no epoch logged")
        let resumed = try train(ranks: 2, common + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertEqual(text(output("s") + "/train_logs.txt")?.split(separator: "\n").count, 2)
    }

    /// Non-finite steps on every rank: rank 0 alone reads the rollback target (the start before any checkpoint,
    /// then the last checkpoint) and sends it to rank 1; both go on training from it as one process does.
    func testNaNStepsRollEveryRankBackToRankZerosState() throws {
        let common = try common() + ["--chunks", "4", "--steps-per-epoch", "2"]
        let faults = ["LODESTONE_FAULTS": "nan@2,nan@6"]   // chunk 0 (no checkpoint yet) and chunk 2 fail
        let one = try train(ranks: 0, common + ["--output", output("one")], env: faults)
        XCTAssertEqual(one.status, 0, one.output)
        let two = try train(ranks: 2, common + ["--output", output("two")], env: faults)
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertEqual(text(output("two") + "/train_logs.txt"), """
            Failed on Cycle 0, Chunk 0, Epoch 0: 0 Steps Completed in Total
            Succeeded on Cycle 0, Chunk 1, Epoch 0: 2 Steps Completed in Total
            Failed on Cycle 0, Chunk 2, Epoch 0: 2 Steps Completed in Total
            Succeeded on Cycle 0, Chunk 3, Epoch 0: 4 Steps Completed in Total

            """)
        try assertSameTraining(output("one"), output("two"))
    }

    /// Hosts with other flags (or another model, or other data) would train apart: the rank that differs says
    /// what, and the job ends before any step.
    func testRanksStartingDifferentlyEndTheJob() throws {
        let common = try common() + ["--output", output("d")]
        let job = try train(ranks: 2, common, secondRank: common + ["--lr", "2e-4"])
        XCTAssertNotEqual(job.status, 0, job.output)
        XCTAssertTrue(job.output.contains("04-training: error: rank 1 of 2: starts from other hyperparameters than rank 0"), job.output)
        let rows = (try? LossLog.read(URL(fileURLWithPath: output("d") + "/loss.csv"))) ?? []
        XCTAssertEqual(rows.count, 0, "no step ran")
    }

    func testCheckpointsMoveBetweenTwoRanksAndOneProcess() throws {
        let common = try common()
        let unbroken = try train(ranks: 0, common + ["--output", output("a")])
        XCTAssertEqual(unbroken.status, 0, unbroken.output)
        // Stopped mid-epoch (step 4 of 6) by one side, continued by the other.
        for (first, then, name) in [(2, 0, "two-then-one"), (0, 2, "one-then-two")] {
            let stopped = try train(ranks: first, common + ["--output", output(name), "--max-steps", "4"])
            XCTAssertEqual(stopped.status, 0, stopped.output)
            XCTAssertTrue(stopped.output.contains("stopped at --max-steps"), stopped.output)
            let resumed = try train(ranks: then, common + ["--output", output(name), "--resume"])
            XCTAssertEqual(resumed.status, 0, resumed.output)
            XCTAssertTrue(resumed.output.contains("resumed at cycle 0, chunk 1, epoch 0, step 1 (4 steps run)"), "\(name): \(resumed.output)")
            try assertSameTraining(output("a"), output(name))
        }
    }
}
