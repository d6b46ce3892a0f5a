import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import LodestoneCore
import LodestoneCLI
import LodestoneTrainingCLI

/// The trainer loop on a toy model and a corpus built here: 1 cycle × 2 chunks × 2 epochs × 3 steps = 12 steps.
final class TrainerTests: XCTestCase {
    var tiny: TrainingConfig { tinySchedule }

    struct Run {
        let trainer: Trainer
        let model: ToyModel
        let out: URL
        var log: [String] { (try? String(contentsOf: trainer.trainLogURL, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? [] }
    }

    func makeRun(_ config: TrainingConfig, out: URL, faults: [Int: Fault] = [:], resume: Bool = false,
                 model: ToyModel = ToyModel()) throws -> Run {
        let (files, open) = makeCorpus(["a": 40, "b": 20])
        let sampler = try LodestoneSampler(files: files, chunks: config.chunks, batchSize: config.batchSize,
                                           maxWords: config.maxSeqLength, seed: config.seed, open: open)
        var options = TrainerOptions(config: config, outputDirectory: out)
        options.faults = FaultPlan(faults); options.showProgress = false
        let trainer = try Trainer(model: model, tokenizer: HashTokenizer(), sampler: sampler,
                                  checkpointer: Checkpointer(store: try LocalStore(root: out.appendingPathComponent("checkpoints"))),
                                  options: options)
        if resume { XCTAssertTrue(try trainer.resume(), "a checkpoint to resume from") }
        return Run(trainer: trainer, model: model, out: out)
    }

    func line(_ ok: Bool, _ chunk: Int, _ epoch: Int, _ steps: Int) -> String {
        "\(ok ? "Succeeded" : "Failed") on Cycle 0, Chunk \(chunk), Epoch \(epoch): \(steps) Steps Completed in Total"
    }

    func testCleanRunLogsEveryEpochAndWritesOutputs() throws {
        let out = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: out) }
        let run = try makeRun(tiny, out: out)
        XCTAssertEqual(try run.trainer.run(), .finished)
        XCTAssertEqual(run.log, [line(true, 0, 0, 3), line(true, 0, 1, 6), line(true, 1, 0, 9), line(true, 1, 1, 12)])
        let rows = try LossLog.read(run.trainer.lossCSVURL)
        XCTAssertEqual(rows.map(\.step), Array(1...12))
        // WarmupLinear: warmup 2 on the very first epoch only, then linear decay to 0 over each epoch's 3 steps.
        let lr = 0.05
        XCTAssertEqual(rows.map(\.learningRate), [0, lr / 2, lr, lr, lr * 2 / 3, lr / 3, lr, lr * 2 / 3, lr / 3, lr, lr * 2 / 3, lr / 3].map { Double(String(format: "%.6g", $0))! })
        XCTAssertTrue(XMLParser(contentsOf: run.trainer.lossPlotURL)!.parse(), "loss.svg is well-formed XML")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.trainer.modelURL.appendingPathComponent("weights.txt").path))
        let kept = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("checkpoints").path).sorted()
        XCTAssertEqual(kept, ["LATEST", "ckpt-000004"], "one checkpoint per succeeded epoch, only the newest kept")
        XCTAssertEqual(run.model.p.count, 8)
        XCTAssertNotEqual(run.model.p, ToyModel().p, "training changed the parameters")
    }

    func testKilledRunResumesToBitwiseIdenticalParameters() throws {
        let a = temporaryDirectory(), b = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let straight = try makeRun(tiny, out: a)
        XCTAssertEqual(try straight.trainer.run(), .finished)

        // Dies before step 8 (inside chunk 1, epoch 0), as under kill -9: the checkpoint after step 6 is the last.
        let killed = try makeRun(tiny, out: b, faults: [8: .crash])
        XCTAssertThrowsError(try killed.trainer.run()) { XCTAssertTrue($0 is SimulatedCrash) }
        let resumed = try makeRun(tiny, out: b, resume: true)
        XCTAssertEqual(resumed.trainer.progress.executedSteps, 6)
        XCTAssertEqual(try resumed.trainer.run(), .finished)
        XCTAssertEqual(resumed.model.p, straight.model.p)
        XCTAssertEqual(resumed.log, straight.log)
        XCTAssertEqual(try LossLog.read(resumed.trainer.lossCSVURL), try LossLog.read(straight.trainer.lossCSVURL))
    }

    func testMaxStepsStopsInsideAnEpochAndResumeContinuesExactly() throws {
        let a = temporaryDirectory(), b = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let straight = try makeRun(tiny, out: a)
        XCTAssertEqual(try straight.trainer.run(), .finished)

        var half = tiny; half.maxSteps = 5   // stops after step 5: mid-epoch, moments in the checkpoint matter
        let first = try makeRun(half, out: b)
        XCTAssertEqual(try first.trainer.run(), .maxSteps)
        XCTAssertEqual(first.log, [line(true, 0, 0, 3)])
        let second = try makeRun(tiny, out: b, resume: true)
        XCTAssertEqual(second.trainer.progress.stepInEpoch, 2)
        XCTAssertEqual(try second.trainer.run(), .finished)
        XCTAssertEqual(second.model.p, straight.model.p)
        XCTAssertEqual(second.log, straight.log)
    }

    /// Each step's dropout seed is a function of (seed, step number): distinct per step, and a killed run resumed
    /// from its checkpoint hands the model the seeds an unbroken run does.
    func testDropoutSeedsFollowTheStepAndSurviveAKill() throws {
        let a = temporaryDirectory(), b = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let straight = try makeRun(tiny, out: a)
        XCTAssertEqual(try straight.trainer.run(), .finished)
        let expected = (1...12).map { Trainer.dropoutSeed(seed: 42, step: $0) }
        XCTAssertEqual(straight.model.dropoutSeeds, expected)
        XCTAssertEqual(Set(expected).count, 12, "a new mask stream every step")
        XCTAssertNotEqual(Trainer.dropoutSeed(seed: 43, step: 1), expected[0], "another seed, other masks")

        let killed = try makeRun(tiny, out: b, faults: [8: .crash])
        XCTAssertThrowsError(try killed.trainer.run())
        let resumed = try makeRun(tiny, out: b, resume: true)
        XCTAssertEqual(try resumed.trainer.run(), .finished)
        XCTAssertEqual(resumed.model.dropoutSeeds, Array(expected[6...]), "steps 7… after the checkpoint of step 6")
    }

    func testNonFiniteLossFailsTheEpochAndRollsBackToTheCheckpoint() throws {
        let a = temporaryDirectory(), b = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        var three = tiny; three.maxSteps = 3
        let reference = try makeRun(three, out: a)
        _ = try reference.trainer.run()

        var six = tiny; six.maxSteps = 6
        let run = try makeRun(six, out: b, faults: [6: .nan])
        XCTAssertEqual(try run.trainer.run(), .maxSteps)
        XCTAssertEqual(run.log, [line(true, 0, 0, 3), line(false, 0, 1, 3)])
        XCTAssertEqual(run.model.p, reference.model.p, "parameters as at the checkpoint after epoch 0")
        // Training goes on with the next epoch after a failure.
        let rest = try makeRun(tiny, out: b, faults: [8: .infGrad], resume: true)
        XCTAssertEqual(try rest.trainer.run(), .finished)
        XCTAssertEqual(rest.log, [line(true, 0, 0, 3), line(false, 0, 1, 3), line(false, 1, 0, 3), line(true, 1, 1, 6)])
    }

    func testFailedModelSaveLeavesTheEpochUnloggedAndResumeRedoesIt() throws {
        let a = temporaryDirectory(), b = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let straight = try makeRun(tiny, out: a)
        XCTAssertEqual(try straight.trainer.run(), .finished)

        let full = try makeRun(tiny, out: b, model: DiskFullToyModel(failFrom: 2))
        XCTAssertThrowsError(try full.trainer.run()) { XCTAssertTrue("\($0)".contains("no space left on device"), "\($0)") }
        XCTAssertEqual(full.log, [line(true, 0, 0, 3)], "the epoch whose model was not written is not logged")
        let resumed = try makeRun(tiny, out: b, resume: true)
        XCTAssertEqual(resumed.trainer.progress.executedSteps, 3)
        XCTAssertEqual(try resumed.trainer.run(), .finished)
        XCTAssertEqual(resumed.model.p, straight.model.p)
        XCTAssertEqual(resumed.log, straight.log)
    }

    /// A kill between an epoch's checkpoint and the rename that puts its model in place leaves model/ one epoch
    /// behind the log (or missing): resume puts the checkpoint's model there before training on.
    func testResumeRepairsAModelLeftBehindByAKillBeforeItsSwap() throws {
        let out = temporaryDirectory(), older = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: older) }
        let fm = FileManager.default
        let model = out.appendingPathComponent("model"), weights = model.appendingPathComponent("weights.txt")
        let manifest = out.appendingPathComponent(".04-training-outputs.json")
        var three = tiny; three.maxSteps = 3
        XCTAssertEqual(try makeRun(three, out: out).trainer.run(), .maxSteps)
        try fm.copyItem(at: model, to: older.appendingPathComponent("model"))
        try? fm.copyItem(at: manifest, to: older.appendingPathComponent("manifest"))
        var six = tiny; six.maxSteps = 6
        XCTAssertEqual(try makeRun(six, out: out, resume: true).trainer.run(), .maxSteps)
        let epoch1 = try Data(contentsOf: weights)
        // What the kill leaves: model/ (and its record) as after epoch 0, the log and checkpoint at epoch 1.
        try fm.removeItem(at: model)
        try fm.copyItem(at: older.appendingPathComponent("model"), to: model)
        try? fm.removeItem(at: manifest)
        try? fm.copyItem(at: older.appendingPathComponent("manifest"), to: manifest)
        XCTAssertNotEqual(try Data(contentsOf: weights), epoch1)
        let resumed = try makeRun(tiny, out: out, resume: true)
        XCTAssertEqual(resumed.log, [line(true, 0, 0, 3), line(true, 0, 1, 6)])
        XCTAssertEqual(try Data(contentsOf: weights), epoch1, "model/ is the model of the last epoch logged")
        // Killed before its first model was put in place: none at all.
        try fm.removeItem(at: model)
        _ = try makeRun(tiny, out: out, resume: true)
        XCTAssertEqual(try Data(contentsOf: weights), epoch1)
    }

    /// Files under the trainer's names that it did not write are refused when the trainer is made, before any
    /// step; an output of a run from before the manifest existed (it holds checkpoints) is the trainer's own.
    func testForeignOutputsAreRefusedAndOldRunsAdopted() throws {
        let out = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: out) }
        let log = out.appendingPathComponent("train_logs.txt")
        let original = Data("Succeeded on Cycle 0, Chunk 0, Epoch 0: 10000 Steps Completed in Total\n".utf8)
        try original.write(to: log)
        XCTAssertThrowsError(try makeRun(tiny, out: out)) {
            XCTAssertEqual("\($0)", "\(log.path): was not written by 04-training (kept from another run or tool?); refusing to overwrite it: move it away or choose another --output")
        }
        XCTAssertEqual(try Data(contentsOf: log), original, "kept")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("loss.csv").path))
        // The same files beside a checkpoint directory: an older run of the trainer, adopted.
        try FileManager.default.createDirectory(at: out.appendingPathComponent("checkpoints/ckpt-000001"), withIntermediateDirectories: true)
        XCTAssertNoThrow(try TrainingOutputs(directory: out).checkOwned())
        try FileManager.default.removeItem(at: out.appendingPathComponent("checkpoints"))
        try FileManager.default.createDirectory(at: out.appendingPathComponent("model"), withIntermediateDirectories: true)
        try FileManager.default.removeItem(at: log)
        XCTAssertNoThrow(try TrainingOutputs(directory: out).checkOwned(), "an empty model/ is nobody's")
        try Data("{}".utf8).write(to: out.appendingPathComponent("model/modules.json"))
        XCTAssertThrowsError(try TrainingOutputs(directory: out).checkOwned()) {
            XCTAssertTrue("\($0)".hasPrefix(out.appendingPathComponent("model/modules.json").path + ": was not written"), "\($0)")
        }
    }

    func testResumePutsBackTheLogLineOfTheLastCheckpoint() throws {
        let out = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: out) }
        var three = tiny; three.maxSteps = 3
        let first = try makeRun(three, out: out)
        XCTAssertEqual(try first.trainer.run(), .maxSteps)
        // A kill between the checkpoint and the append leaves the log one line short.
        try Data().write(to: first.trainer.trainLogURL)
        let resumed = try makeRun(tiny, out: out, resume: true)
        XCTAssertEqual(resumed.log, [line(true, 0, 0, 3)])
        XCTAssertEqual(try resumed.trainer.run(), .finished)
        XCTAssertEqual(resumed.log, [line(true, 0, 0, 3), line(true, 0, 1, 6), line(true, 1, 0, 9), line(true, 1, 1, 12)])
    }

    func testSummaryNamesOnlyOutputsThatExist() throws {
        let out = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: out) }
        let run = try makeRun(tiny, out: out, faults: [2: .stop])
        XCTAssertEqual(try run.trainer.run(), .interrupted)
        let named = run.trainer.summary().outputs.map(\.0)
        XCTAssertEqual(named, ["train log", "loss.csv", "loss plot", "checkpoint"], "no epoch succeeded: no model")
    }

    func testStalledStepFailsTheEpoch() throws {
        let out = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: out) }
        var config = tiny; config.stallTimeout = 0.2
        let run = try makeRun(config, out: out, faults: [5: .stall])
        XCTAssertEqual(try run.trainer.run(), .finished)
        XCTAssertEqual(run.log, [line(true, 0, 0, 3), line(false, 0, 1, 3), line(true, 1, 0, 6), line(true, 1, 1, 9)])
    }

    func testFirstCtrlCFailsTheEpochAndTrainingGoesOn() throws {
        let out = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: out) }
        let run = try makeRun(tiny, out: out, faults: [2: .interrupt])
        XCTAssertEqual(try run.trainer.run(), .finished)
        XCTAssertEqual(run.log, [line(false, 0, 0, 0), line(true, 0, 1, 3), line(true, 1, 0, 6), line(true, 1, 1, 9)])
    }

    func testSecondCtrlCCheckpointsAndExitsThenResumeFinishes() throws {
        let out = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: out) }
        let run = try makeRun(tiny, out: out, faults: [5: .stop])
        XCTAssertEqual(try run.trainer.run(), .interrupted)
        XCTAssertEqual(run.log, [line(true, 0, 0, 3), line(false, 0, 1, 3)])
        let resumed = try makeRun(tiny, out: out, resume: true)
        XCTAssertEqual(resumed.model.p, run.model.p)
        XCTAssertEqual(try resumed.trainer.run(), .finished)
        XCTAssertEqual(resumed.log, [line(true, 0, 0, 3), line(false, 0, 1, 3), line(true, 1, 0, 6), line(true, 1, 1, 9)])
    }

    func testInterruptsWithinThreeSecondsStopLaterOnesFailAgain() {
        let c = InterruptController(window: 3)
        XCTAssertFalse(c.receive(now: 100)); XCTAssertTrue(c.takeFailRequest()); XCTAssertFalse(c.takeFailRequest())
        XCTAssertFalse(c.receive(now: 110)); XCTAssertFalse(c.stopRequested)
        XCTAssertTrue(c.receive(now: 112.5)); XCTAssertTrue(c.stopRequested)
    }

    func testRealSIGINTReachesTheController() throws {
        let c = InterruptController(window: 3)
        c.installSignalHandler()
        defer { c.removeSignalHandler() }
        raise(SIGINT)
        let deadline = Date().addingTimeInterval(5)
        var failed = false
        while !failed && Date() < deadline { failed = c.takeFailRequest(); if !failed { usleep(10_000) } }
        XCTAssertTrue(failed, "the first SIGINT fails the epoch")
        raise(SIGINT)
        while !c.stopRequested && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(c.stopRequested, "a second SIGINT within 3 s asks to stop")
    }

    func testHardStallWatchdogFiresOnlyWhenArmed() {
        let fired = expectation(description: "hard stall")
        let w = StallWatchdog()
        w.beat(armed: true)
        w.start(hardTimeout: 0.3) { fired.fulfill() }
        wait(for: [fired], timeout: 5)
        w.stop()
        let quiet = StallWatchdog()
        quiet.beat(armed: false)
        let notFired = expectation(description: "no stall while disarmed"); notFired.isInverted = true
        quiet.start(hardTimeout: 0.2) { notFired.fulfill() }
        wait(for: [notFired], timeout: 0.8)
        quiet.stop()
    }

    func testDamagedCheckpointIsRefused() throws {
        let out = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: out) }
        var config = tiny; config.maxSteps = 3
        _ = try makeRun(config, out: out).trainer.run()
        let dir = out.appendingPathComponent("checkpoints")
        let name = try String(contentsOf: dir.appendingPathComponent("LATEST"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let bin = dir.appendingPathComponent(name).appendingPathComponent("model.bin")
        var bytes = try Data(contentsOf: bin)
        bytes[5] ^= 0x40
        try bytes.write(to: bin)
        XCTAssertThrowsError(try makeRun(tiny, out: out).trainer.resume()) { XCTAssertTrue("\($0)".contains("checksum"), "\($0)") }
        try bytes.prefix(10).write(to: bin)
        XCTAssertThrowsError(try makeRun(tiny, out: out).trainer.resume()) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
    }

    func testFaultPlanParsing() throws {
        XCTAssertEqual(try FaultPlan(parsing: "nan@3,stall@5,crash@9").faults, [3: .nan, 5: .stall, 9: .crash])
        XCTAssertThrowsError(try FaultPlan(parsing: "boom@3")) { XCTAssertTrue("\($0)".contains("boom@3")) }
    }
}

final class ConfigTests: XCTestCase {
    func testDefaultsAreTheOriginals() {
        let c = TrainingConfig()
        XCTAssertEqual([c.batchSize, c.maxSeqLength, c.cycles, c.chunks, c.epochs, c.stepsPerEpoch, c.warmupSteps],
                       [16, 2048, 2, 50, 2, 10_000, 500])
        XCTAssertEqual([c.learningRate, c.weightDecay, c.maxGradNorm, c.scale], [2e-5, 0.01, 1.0, 20])
        XCTAssertEqual(c.seed, 42)
        XCTAssertEqual(c.plannedSteps, 2_000_000)
    }

    func testConfigFileSetsFieldsAndErrorsNameTheField() throws {
        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.json")
        try Data(#"{"batch_size": 8, "lr": 0.001, "steps_per_epoch": 50}"#.utf8).write(to: file)
        let c = try TrainingConfig.load(file)
        XCTAssertEqual(c.batchSize, 8); XCTAssertEqual(c.learningRate, 0.001); XCTAssertEqual(c.stepsPerEpoch, 50)
        XCTAssertEqual(c.chunks, 50)
        for (text, field) in [(#"{"batch_size": "x"}"#, "batch_size"), (#"{"bach_size": 3}"#, "bach_size"), (#"{"chunks": 0}"#, "chunks")] {
            try Data(text.utf8).write(to: file)
            XCTAssertThrowsError(try TrainingConfig.load(file)) {
                XCTAssertTrue("\($0)".contains(field) && "\($0)".contains("c.json"), "\($0)")
            }
        }
    }
}

final class ReportTests: XCTestCase {
    func testLossLogKeepsRowsUpToTheCheckpointOnResume() throws {
        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("loss.csv")
        let log = try LossLog(url: url, keepThrough: nil)
        for s in 1...5 { log.append(LossRow(step: s, cycle: 0, chunk: 0, epoch: 0, loss: Double(s), lossAverage: 1, learningRate: 1e-3)) }
        log.close()
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8).split(separator: "\n").first, "step,cycle,chunk,epoch,loss,loss_avg,lr")
        _ = try LossLog(url: url, keepThrough: 3)
        XCTAssertEqual(try LossLog.read(url).map(\.step), [1, 2, 3])
        _ = try LossLog(url: url, keepThrough: nil)
        XCTAssertEqual(try LossLog.read(url).count, 0)
    }

    func testMovingAverageAndProgressLine() {
        var m = MovingAverage(window: 3)
        for x in [1.0, 2, 3, 4] { m.add(x) }
        XCTAssertEqual(m.value, 3)
        let line = ProgressSnapshot(step: 120, totalSteps: 400, pairsPerSecond: 35.25, lossAverage: 1.23456,
                                    learningRate: 4.5e-4, secondsLeft: 192).line
        XCTAssertEqual(line, "step 120/400 | 35.2 pairs/s | loss 1.2346 | lr 4.50e-04 | ETA 0:03:12")
        XCTAssertEqual(formatDuration(90_061), "1d 1:01:01")
    }

    func testPlotIsWellFormedSVGWithBothPanels() throws {
        let rows = (1...5000).map { LossRow(step: $0, cycle: 0, chunk: 0, epoch: 0, loss: 3 / Double($0), lossAverage: 3 / Double($0), learningRate: 1e-4) }
        let svg = LossPlot.svg(rows: rows)
        XCTAssertTrue(XMLParser(data: Data(svg.utf8)).parse())
        XCTAssertTrue(svg.contains(">loss<") && svg.contains(">learning rate<"))
        XCTAssertLessThan(svg.utf8.count, 200_000, "thinned to at most 1500 points per series")
    }
}

final class TrainingOverridesTests: XCTestCase {
    /// Every flag lands in its own field, over the config file, which is over the defaults.
    func testFlagsOverrideTheConfigFileFieldByField() throws {
        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.json")
        try Data(#"{"batch_size": 8, "chunks": 7, "lr": 0.5}"#.utf8).write(to: file)
        let c = try TrainingOverrides.parse([
            "--config", file.path, "--batch-size", "3", "--max-seq-length", "33", "--cycles", "4", "--epochs", "5",
            "--steps-per-epoch", "6", "--lr", "0.25", "--warmup-steps", "9", "--weight-decay", "0.125",
            "--max-grad-norm", "2.5", "--scale", "30", "--symmetric-loss", "--adam-eps", "1e-8", "--seed", "11",
            "--max-steps", "12", "--stall-timeout", "13", "--checkpoint-every", "14",
        ]).trainingConfig()
        XCTAssertEqual([c.batchSize, c.maxSeqLength, c.cycles, c.chunks, c.epochs, c.stepsPerEpoch, c.warmupSteps,
                        c.maxSteps, c.checkpointEvery], [3, 33, 4, 7, 5, 6, 9, 12, 14])
        XCTAssertEqual([c.learningRate, c.weightDecay, c.maxGradNorm, c.scale, c.adamEps, c.stallTimeout],
                       [0.25, 0.125, 2.5, 30, 1e-8, 13])
        XCTAssertTrue(c.symmetricLoss)
        XCTAssertEqual(c.seed, 11)
        XCTAssertEqual(try TrainingOverrides.parse([]).trainingConfig(), TrainingConfig())
        XCTAssertEqual(c.dropout, .auto)
        XCTAssertThrowsError(try TrainingOverrides.parse(["--chunks", "0"]).trainingConfig()) {
            XCTAssertTrue("\($0)".contains("chunks"), "\($0)")
        }
    }
}
