import Foundation
import XCTest
@testable import LodestoneCore

/// The `04-training` executable itself: flags, a real `kill -9` (the `crash` fault sends SIGKILL to the
/// process) and `--resume`, compared byte for byte with an unbroken run; exit statuses and one-line errors.
final class TrainingCLITests: XCTestCase {
    /// The built executable, next to the test bundle (`swift build --build-tests` / `swift test` build it).
    var executable: URL {
        let bundle = Bundle(for: Self.self).bundleURL   // the .xctest bundle, or on Linux its directory
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("04-training") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    var dir: URL!
    var mounts: [URL] = []

    override func setUp() { dir = temporaryDirectory("training-cli") }

    override func tearDown() {
        for mount in mounts.reversed() { _ = try? shell("umount", mount.path) }
        try? FileManager.default.removeItem(at: dir)
    }

    func run(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, signaled: Bool, output: String) {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, p.terminationReason == .uncaughtSignal, String(decoding: data, as: UTF8.self))
    }

    @discardableResult
    func shell(_ args: String...) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        try p.run(); p.waitUntilExit()
        return p.terminationStatus
    }

    /// The bytes of the regular files directly in `path` (a model directory).
    func directoryBytes(_ path: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: path).reduce(0) { total, name in
            let attributes = try FileManager.default.attributesOfItem(atPath: path + "/" + name)
            return total + ((attributes[.type] as? FileAttributeType) == .typeRegular ? (attributes[.size] as? Int ?? 0) : 0)
        }
    }

    /// A tmpfs of `size` (e.g. "64m") mounted under the test's directory, unmounted in tearDown.
    func mountTmpfs(_ name: String, size: String, readOnly: Bool = false) throws -> URL {
        let mount = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
        guard try shell("mount", "-t", "tmpfs", "-o", "size=\(size)" + (readOnly ? ",ro" : ""), "tmpfs", mount.path) == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (needs root)")
        }
        mounts.append(mount)
        return mount
    }

    /// A 40-pair store, its records file and the mosaic-tiny fixture: 2 chunks × 1 epoch × 2 steps of 4 pairs.
    func common() throws -> [String] {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: executable.path), "\(executable.path) not built")
        let store = try LocalStore(root: dir.appendingPathComponent("store"))
        try store.writeGzipLines(key: "data/pairs.json.gz", (0..<40).map { #"["question number \#($0)", "reply number \#($0)"]"# })
        try DataRecords.write(["pairs.json.gz": 40], file: dir.appendingPathComponent("records.json"), store: store)
        return ["--store", store.root.path, "--records", dir.appendingPathComponent("records.json").path,
                "--model", RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny").path,
                "--cycles", "1", "--chunks", "2", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4",
                "--max-seq-length", "10", "--lr", "1e-3", "--warmup-steps", "0", "--threads", "1"]
    }

    let bothEpochs = "Succeeded on Cycle 0, Chunk 0, Epoch 0: 2 Steps Completed in Total\n" +
                     "Succeeded on Cycle 0, Chunk 1, Epoch 0: 4 Steps Completed in Total\n"

    func text(_ path: String) -> String? { try? String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8) }

    func testKillNineThenResumeGivesTheSameModelBytes() throws {
        let common = try common()
        let straight = try run(common + ["--output", dir.appendingPathComponent("a").path])
        XCTAssertEqual(straight.status, 0, straight.output)

        let b = dir.appendingPathComponent("b").path
        let killed = try run(common + ["--output", b], env: ["LODESTONE_FAULTS": "crash@4"])
        XCTAssertTrue(killed.signaled && killed.status == SIGKILL, "killed by SIGKILL: \(killed.status) \(killed.output)")
        let refused = try run(common + ["--output", b])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("--resume"), refused.output)
        let resumed = try run(common + ["--output", b, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("resumed at cycle 0, chunk 1, epoch 0, step 0"), resumed.output)

        for file in ["model/model.safetensors", "train_logs.txt", "loss.csv"] {
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("a/" + file)),
                           try Data(contentsOf: URL(fileURLWithPath: b + "/" + file)), file)
        }
        XCTAssertEqual(text(b + "/train_logs.txt"), bothEpochs)
    }

    /// With dropout on (hidden and attention 0.1), a kill -9 and --resume still give the unbroken run's bytes,
    /// and dropout did change the training.
    func testKillNineThenResumeWithDropoutGivesTheSameModelBytes() throws {
        let common = try common() + ["--dropout", "0.1"]
        let straight = try run(common + ["--output", dir.appendingPathComponent("a").path])
        XCTAssertEqual(straight.status, 0, straight.output)
        XCTAssertTrue(straight.output.contains("dropout hidden 0.1, attention 0.1"), straight.output)
        let b = dir.appendingPathComponent("b").path
        let killed = try run(common + ["--output", b], env: ["LODESTONE_FAULTS": "crash@4"])
        XCTAssertTrue(killed.signaled && killed.status == SIGKILL, "killed by SIGKILL: \(killed.status) \(killed.output)")
        let resumed = try run(common + ["--output", b, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        for file in ["model/model.safetensors", "train_logs.txt", "loss.csv"] {
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("a/" + file)),
                           try Data(contentsOf: URL(fileURLWithPath: b + "/" + file)), file)
        }
        let off = try run(try self.common() + ["--dropout", "off", "--output", dir.appendingPathComponent("c").path])
        XCTAssertEqual(off.status, 0, off.output)
        XCTAssertNotEqual(try Data(contentsOf: dir.appendingPathComponent("a/loss.csv")),
                          try Data(contentsOf: dir.appendingPathComponent("c/loss.csv")), "dropout changed the losses")
    }

    func testRerunOfAFinishedRunReportsItAndExitsZero() throws {
        let common = try common() + ["--output", dir.appendingPathComponent("a").path]
        XCTAssertEqual(try run(common).status, 0)
        let loss = try Data(contentsOf: dir.appendingPathComponent("a/loss.csv"))
        for flags in [[], ["--resume"]] {
            let again = try run(common + flags)
            XCTAssertEqual(again.status, 0, again.output)
            XCTAssertTrue(again.output.contains("training already finished") && again.output.contains(dir.appendingPathComponent("a/model").path), again.output)
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("a/loss.csv")), loss, "nothing trained again")
        }
        // Other hyperparameters make it another run: it is not silently taken for the finished one.
        let other = try run(common + ["--lr", "2e-3"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.output.contains("--restart"), other.output)
    }

    func testBadEvalSetOrStoreStopsBeforeAnythingIsWritten() throws {
        let out = dir.appendingPathComponent("never")
        let badEval = try run(try common() + ["--output", out.path, "--eval", dir.appendingPathComponent("no-such-set").path])
        XCTAssertEqual(badEval.status, 1, badEval.output)
        XCTAssertTrue(badEval.output.contains("no-such-set: cannot read: no such file or directory"), badEval.output)
        var args = try common() + ["--output", out.path]
        args[args.firstIndex(of: "--store")! + 1] = dir.appendingPathComponent("typo-store").path
        let badStore = try run(args)
        XCTAssertEqual(badStore.status, 1, badStore.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no output directory for a run that never started")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("typo-store").path), "a mistyped store is not created")
    }

    func testMemoryBudgetIsPlannedAndOneTooSmallStopsBeforeAnythingIsWritten() throws {
        let out = dir.appendingPathComponent("never")
        let tiny = try run(try common() + ["--output", out.path, "--memory-budget", "100M"])
        XCTAssertEqual(tiny.status, 1, tiny.output)
        let errors = tiny.output.split(separator: "\n").filter { $0.contains("error") }
        XCTAssertEqual(errors.count, 1, tiny.output)
        XCTAssertTrue(tiny.output.contains("memory_budget': 100.0 MiB is too small"), tiny.output)
        XCTAssertTrue(tiny.output.contains("give at least"), tiny.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no output directory for a run that never started")
        let typo = try run(try common() + ["--output", out.path, "--memory-budget", "6 gigs"])
        XCTAssertEqual(typo.status, 64, typo.output)   // a bad flag value: a usage error
        XCTAssertTrue(typo.output.contains("expected a size of at least 1 byte such as 6G or 512M, found '6 gigs'"), typo.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))

        // Passes of one text (cached MNRL) train and say so in the plan they print.
        let split = try run(try common() + ["--output", dir.appendingPathComponent("split").path, "--mini-batch-size", "1", "--max-steps", "2"])
        XCTAssertEqual(split.status, 0, split.output)
        XCTAssertTrue(split.output.contains("memory: budget"), split.output)
        XCTAssertTrue(split.output.contains("passes of up to 1 text(s)"), split.output)
    }

    func testResumeWithRestartIsAUsageError() throws {
        let r = try run(try common() + ["--output", dir.appendingPathComponent("a").path, "--resume", "--restart"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("--resume and --restart exclude each other"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("a").path), "nothing trained")
    }

    /// A run under `faults` in which no epoch succeeds: no model is written and the summary names none.
    func runWithoutAModel(faults: String) throws -> (status: Int32, output: String, out: String) {
        let out = dir.appendingPathComponent("a").path
        let r = try run(try common() + ["--output", out], env: ["LODESTONE_FAULTS": faults])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/model"))
        XCTAssertFalse(r.output.contains(out + "/model"), "the summary names no model: \(r.output)")
        XCTAssertTrue(r.output.contains(out + "/train_logs.txt"), r.output)
        return (r.status, r.output, out)
    }

    func testTwoCtrlCsExit130AndTheSummaryNamesOnlyWhatExists() throws {
        let r = try runWithoutAModel(faults: "stop@2")
        XCTAssertEqual(r.status, 130, r.output)
        XCTAssertTrue(r.output.contains("stopped by Ctrl-C"), r.output)
    }

    func testEveryEpochFailedExits1WithoutAModel() throws {
        let r = try runWithoutAModel(faults: "nan@1,nan@2")
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("no epoch succeeded"), r.output)
        XCTAssertEqual(text(r.out + "/train_logs.txt")?.split(separator: "\n").map { $0.hasPrefix("Failed") }, [true, true])
    }

    func testUnwritableOutputsAreOneLineNamingThePath() throws {
        let common = try common()
        let file = dir.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let readOnly = try mountTmpfs("ro", size: "1m", readOnly: true)
        // --output, the path the error names, the reason.
        for (output, path, reason) in [(file.path, file.path, "not a directory"),
                                       (file.path + "/run", file.path, "not a directory"),
                                       (readOnly.path + "/run", readOnly.path + "/run", "read-only file system")] {
            let r = try run(common + ["--output", output])
            XCTAssertEqual(r.status, 1, r.output)
            XCTAssertFalse(r.output.contains("Error Domain"), r.output)
            let errors = r.output.split(separator: "\n").filter { $0.contains("error") }
            XCTAssertEqual(errors.count, 1, r.output)
            XCTAssertTrue(errors.first.map { $0.contains(path + ": ") && $0.contains(reason) } ?? false, r.output)
        }
    }

    /// The disk fills up while the second epoch's model is written: that epoch is not logged as succeeded, the
    /// step fails with one line, and once space is freed `--resume` finishes as an unbroken run would.
    func testFullDiskDuringModelSaveLogsNoSuccessAndResumeFinishes() throws {
        let common = try common()
        let straight = dir.appendingPathComponent("straight").path
        XCTAssertEqual(try run(common + ["--output", straight]).status, 0)

        let disk = try mountTmpfs("disk", size: "160m")
        let out = disk.path + "/run"
        let first = try run(common + ["--output", out, "--max-steps", "2"])
        XCTAssertEqual(first.status, 0, first.output)
        // Leave half the room model.safetensors needs.
        let modelBytes = try XCTUnwrap(try FileManager.default.attributesOfItem(
            atPath: RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny/model.safetensors").path)[.size] as? Int)
        let filler = disk.path + "/filler"
        var fs = statvfs()
        XCTAssertEqual(statvfs(disk.path, &fs), 0)
        let free = Int(fs.f_bavail) * Int(fs.f_frsize)
        XCTAssertEqual(try shell("fallocate", "-l", String(free - modelBytes / 2), filler), 0)

        let full = try run(common + ["--output", out, "--resume"])
        XCTAssertEqual(full.status, 1, full.output)
        XCTAssertTrue(full.output.contains("no space left on device"), full.output)
        XCTAssertFalse(full.output.contains("Error Domain"), full.output)
        XCTAssertEqual(text(out + "/train_logs.txt"), "Succeeded on Cycle 0, Chunk 0, Epoch 0: 2 Steps Completed in Total\n")

        try FileManager.default.removeItem(atPath: filler)
        let resumed = try run(common + ["--output", out, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertEqual(text(out + "/train_logs.txt"), bothEpochs)
        for file in ["model/model.safetensors", "loss.csv"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: straight + "/" + file)),
                           try Data(contentsOf: URL(fileURLWithPath: out + "/" + file)), file)
        }
    }

    func testBadConfigFileIsOneClearLine() throws {
        let config = dir.appendingPathComponent("bad.json")
        try Data(#"{"lr": "fast"}"#.utf8).write(to: config)
        let r = try run(["--config", config.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("bad.json") && r.output.contains("lr"), r.output)
    }
}
