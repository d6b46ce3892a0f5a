// 04-training's output directory tried carelessly (issue 16, defects 4, 5, 6, 9, 10 and 14's full disk during a
// checkpoint save): files it did not write, an output holding its own --model, two runs at once, a lost
// checkpoints/LATEST, a mistyped store scheme. Uses TrainingCLITests' store, runner and tmpfs helpers.
import Foundation
import XCTest
@testable import LodestoneCore

extension TrainingCLITests {
    /// Every error line of a run's output.
    func errorLines(_ output: String) -> [Substring] { output.split(separator: "\n").filter { $0.contains("error:") } }

    func testFilesTheTrainerDidNotWriteAreRefusedBeforeTraining() throws {
        let common = try common()
        for name in ["train_logs.txt", "loss.csv", "loss.svg", "model/README.md"] {
            let out = dir.appendingPathComponent("u-" + name.replacingOccurrences(of: "/", with: "-"))
            let foreign = out.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: foreign.deletingLastPathComponent(), withIntermediateDirectories: true)
            let kept = Data("Succeeded on Cycle 0, Chunk 0, Epoch 0: 10000 Steps Completed in Total\n".utf8)
            try kept.write(to: foreign)
            let r = try run(common + ["--output", out.path])
            XCTAssertEqual(r.status, 1, r.output)
            XCTAssertEqual(errorLines(r.output).count, 1, r.output)
            XCTAssertTrue(r.output.contains(foreign.path + ": was not written by 04-training"), r.output)
            XCTAssertEqual(try Data(contentsOf: foreign), kept, "\(name) is kept as it was")
            XCTAssertFalse(r.output.contains("Succeeded on") || r.output.contains("training finished"), r.output)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoints/LATEST").path), "nothing trained")
            if name != "loss.csv" { XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("loss.csv").path)) }
        }
    }

    func testAnOutputHoldingItsOwnModelIsRefused() throws {
        var args = try common()
        let base = dir.appendingPathComponent("mo/model")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        let fixture = RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny")
        for name in ["config.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"] {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(name), to: base.appendingPathComponent(name))
        }
        args[args.firstIndex(of: "--model")! + 1] = base.path
        let weights = try Data(contentsOf: base.appendingPathComponent("model.safetensors"))
        for (output, words) in [(dir.appendingPathComponent("mo").path, "holds --model \(base.path)"),
                                (dir.path + "/mo/model/../model/run", "is inside --model \(base.path)")] {
            let r = try run(args + ["--output", output])
            XCTAssertEqual(r.status, 1, r.output)
            XCTAssertEqual(errorLines(r.output).count, 1, r.output)
            XCTAssertTrue(r.output.contains(words), r.output)
            XCTAssertEqual(try Data(contentsOf: base.appendingPathComponent("model.safetensors")), weights, "the base model is kept")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: base.path).sorted(),
                           ["config.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"])
        }
    }

    func testASecondRunOnTheSameOutputStopsAtOnce() throws {
        let out = dir.appendingPathComponent("a")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var running: OutputLock? = try OutputLock(directory: out.path, step: "04-training")
        let r = try run(try common() + ["--output", out.path])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(errorLines(r.output).count, 1, r.output)
        XCTAssertTrue(r.output.contains("\(out.path): in use by another run: pid \(getpid()) on host \(ProcessInfo.processInfo.hostName)"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("train_logs.txt").path))
        running = nil
        XCTAssertNil(running)
        let after = try run(try common() + ["--output", out.path])
        XCTAssertEqual(after.status, 0, after.output)
        XCTAssertEqual(text(out.path + "/train_logs.txt"), bothEpochs)
    }

    /// A lost LATEST used to make the next run say "no checkpoint … starting from the beginning", delete the
    /// checkpoint and rewrite the logs, even with --resume.
    func testALostLATESTIsFoundNotStartedOver() throws {
        let common = try common()
        let straight = dir.appendingPathComponent("a").path
        XCTAssertEqual(try run(common + ["--output", straight]).status, 0)
        let b = dir.appendingPathComponent("b").path
        let killed = try run(common + ["--output", b], env: ["LODESTONE_FAULTS": "crash@4"])
        XCTAssertTrue(killed.signaled, killed.output)
        try FileManager.default.removeItem(atPath: b + "/checkpoints/LATEST")
        let log = text(b + "/train_logs.txt")

        let plain = try run(common + ["--output", b])
        XCTAssertNotEqual(plain.status, 0, plain.output)
        XCTAssertTrue(plain.output.contains("--resume"), plain.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: b + "/checkpoints/ckpt-000001/model.bin"), "the checkpoint is kept")
        XCTAssertEqual(text(b + "/train_logs.txt"), log)

        let resumed = try run(common + ["--output", b, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertFalse(resumed.output.contains("starting from the beginning"), resumed.output)
        XCTAssertTrue(resumed.output.contains("resumed at cycle 0, chunk 1, epoch 0, step 0"), resumed.output)
        for file in ["model/model.safetensors", "train_logs.txt", "loss.csv"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: straight + "/" + file)),
                           try Data(contentsOf: URL(fileURLWithPath: b + "/" + file)), file)
        }

        // No LATEST and no whole checkpoint: refused in one line, nothing deleted, until --restart.
        let c = dir.appendingPathComponent("c").path
        XCTAssertTrue(try run(common + ["--output", c], env: ["LODESTONE_FAULTS": "crash@4"]).signaled)
        try FileManager.default.removeItem(atPath: c + "/checkpoints/LATEST")
        let bin = c + "/checkpoints/ckpt-000001/model.bin"
        let damaged = try Data(contentsOf: URL(fileURLWithPath: bin)).dropLast(4)
        try damaged.write(to: URL(fileURLWithPath: bin))
        for flags in [[], ["--resume"]] {
            let refused = try run(common + ["--output", c] + flags)
            XCTAssertNotEqual(refused.status, 0, refused.output)
            XCTAssertEqual(errorLines(refused.output).count, 1, refused.output)
            XCTAssertTrue(refused.output.contains("LATEST: missing, and no complete checkpoint") && refused.output.contains("ckpt-000001/model.bin: truncated")
                          && refused.output.contains("--restart"), refused.output)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: bin)), damaged, "the checkpoint is kept")
        }
        let restarted = try run(common + ["--output", c, "--restart"])
        XCTAssertEqual(restarted.status, 0, restarted.output)
        XCTAssertEqual(text(c + "/train_logs.txt"), bothEpochs)
    }

    /// The disk fills while the second epoch's checkpoint is written (its model fitted): model/ stays the first
    /// epoch's, the only one logged, and once space is freed --resume finishes as an unbroken run would.
    func testFullDiskDuringCheckpointSaveKeepsTheLoggedModel() throws {
        let common = try common()
        let straight = dir.appendingPathComponent("straight").path
        XCTAssertEqual(try run(common + ["--output", straight]).status, 0)

        let disk = try mountTmpfs("disk", size: "160m")
        let out = disk.path + "/run"
        XCTAssertEqual(try run(common + ["--output", out, "--max-steps", "2"]).status, 0)
        let firstModel = try Data(contentsOf: URL(fileURLWithPath: out + "/model/model.safetensors"))
        // Room for the staged model directory and one more copy of the weights, not for the whole checkpoint (weights
        // and both AdamW moments: three copies). Sized from the model, so it holds for any fixture model.
        let filler = disk.path + "/filler"
        var fs = statvfs()
        XCTAssertEqual(statvfs(disk.path, &fs), 0)
        let free = Int(fs.f_bavail) * Int(fs.f_frsize)
        let stagedModel = try directoryBytes(out + "/model")
        XCTAssertEqual(try shell("fallocate", "-l", String(free - stagedModel - firstModel.count), filler), 0)

        let full = try run(common + ["--output", out, "--resume"])
        XCTAssertEqual(full.status, 1, full.output)
        XCTAssertTrue(full.output.contains("checkpoints/ckpt-000002/model.bin: cannot write: no space left on device"), full.output)
        XCTAssertEqual(text(out + "/train_logs.txt"), "Succeeded on Cycle 0, Chunk 0, Epoch 0: 2 Steps Completed in Total\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/model/model.safetensors")), firstModel,
                       "model/ is still the model of the last epoch logged as succeeded")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".partial") }, [],
                       "the staged model is removed")

        try FileManager.default.removeItem(atPath: filler)
        let resumed = try run(common + ["--output", out, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertEqual(text(out + "/train_logs.txt"), bothEpochs)
        for file in ["model/model.safetensors", "loss.csv"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: straight + "/" + file)),
                           try Data(contentsOf: URL(fileURLWithPath: out + "/" + file)), file)
        }
    }

    /// `s3:bucket/x` used to train into a local folder named `s3:`.
    func testAMistypedStoreSchemeIsRefused() throws {
        let args = try common()
        for (flag, value) in [("--store", "s3:bucket/x"), ("--store", "s3:/bucket/x"), ("--checkpoint-store", "s3:bucket/ckpt")] {
            var a = args
            if let i = a.firstIndex(of: flag) { a[i + 1] = value } else { a += [flag, value] }
            let p = Process()
            p.executableURL = executable
            p.arguments = a + ["--output", "run"]
            p.currentDirectoryURL = dir
            let pipe = Pipe()
            p.standardOutput = pipe; p.standardError = pipe
            try p.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 1, output)
            XCTAssertTrue(output.contains("bad store URL '\(value)'") && output.contains("without '//'"), output)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("s3:") }, [], "no folder named s3:")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run").path), "refused before any output")
        }
    }
}
