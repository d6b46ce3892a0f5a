import Foundation
import XCTest
@testable import LodestoneCore

/// A failed epoch rolls back to a state read back from disk (the newest checkpoint, or the run's start), not to a
/// copy in memory: the exact bytes of that state, and a memory plan without a model-sized rollback copy.
final class RollbackTests: XCTestCase {
    var dirs: [URL] = []
    override func tearDown() { dirs.forEach { try? FileManager.default.removeItem(at: $0) } }

    func directory() -> URL { let d = temporaryDirectory("rollback"); dirs.append(d); return d }

    /// A toy run of the trainer tests' schedule; `checkpoints` false: a library run without a checkpointer.
    func train(_ config: TrainingConfig, faults: [Int: Fault] = [:], checkpoints: Bool = true) throws -> (ToyModel, URL, TrainingStop) {
        let model = ToyModel()
        let (out, stop) = try train(model, config, faults: faults, checkpoints: checkpoints)
        return (model, out, stop)
    }

    func train(_ model: TrainableEncoder, _ config: TrainingConfig, faults: [Int: Fault] = [:], checkpoints: Bool = true) throws -> (URL, TrainingStop) {
        let out = directory()
        let (files, open) = makeCorpus(["a": 40, "b": 20])
        let sampler = try LodestoneSampler(files: files, chunks: config.chunks, batchSize: config.batchSize,
                                           maxWords: config.maxSeqLength, seed: config.seed, open: open)
        var options = TrainerOptions(config: config, outputDirectory: out)
        options.faults = FaultPlan(faults); options.showProgress = false
        let checkpointer = checkpoints ? Checkpointer(store: try LocalStore(root: out.appendingPathComponent("checkpoints"))) : nil
        let trainer = try Trainer(model: model, tokenizer: HashTokenizer(), sampler: sampler, checkpointer: checkpointer, options: options)
        return (out, try trainer.run())
    }

    func state(_ m: ToyModel) -> ModelTrainingState {
        ModelTrainingState(parameters: m.p, firstMoments: m.m, secondMoments: m.v, optimizerStep: m.t)
    }

    /// The newest checkpoint's model.bin.
    func latestWeights(_ out: URL) throws -> Data {
        let dir = out.appendingPathComponent("checkpoints")
        let name = try String(contentsOf: dir.appendingPathComponent("LATEST"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return try Data(contentsOf: dir.appendingPathComponent(name).appendingPathComponent("model.bin"))
    }

    func testNaNAfterACheckpointRollsBackToExactlyItsBytes() throws {
        var three = tinySchedule; three.maxSteps = 3
        let (reference, referenceOut, _) = try train(three)   // stops at the checkpoint after epoch 0
        var six = tinySchedule; six.maxSteps = 6
        let (model, out, stop) = try train(six, faults: [6: .nan])   // epoch 1 fails on its last step
        XCTAssertEqual(stop, .maxSteps)
        XCTAssertEqual(state(model), state(reference), "parameters, both moments and the step of epoch 0's checkpoint")
        XCTAssertEqual(try latestWeights(out), try latestWeights(referenceOut), "the failed epoch's checkpoint holds those bytes")
    }

    func testNaNBeforeAnyCheckpointRollsBackToTheStart() throws {
        var two = tinySchedule; two.maxSteps = 2
        let (model, out, _) = try train(two, faults: [2: .nan])   // epoch 0 fails: nothing was checkpointed yet
        XCTAssertEqual(state(model), state(ToyModel()), "the untrained model with a fresh optimizer")
        XCTAssertEqual(model.t, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix(".rollback") }, [],
                       "the start's scratch file is never visible in the output directory")
    }

    func testWithoutACheckpointerTheLastCheckpointIsStillTheTarget() throws {
        var three = tinySchedule; three.maxSteps = 3
        let (reference, _, _) = try train(three)
        var six = tinySchedule; six.maxSteps = 6
        let (model, _, _) = try train(six, faults: [6: .nan], checkpoints: false)
        XCTAssertEqual(state(model), state(reference))
    }

    /// The plan counts parameters, gradients and both moments (16 bytes a parameter) and the runtime allowance:
    /// no 12-byte-a-parameter rollback copy any more.
    func testMemoryPlanHoldsNoRollbackCopy() throws {
        let config = EncoderConfig(mosaic: true, hidden: 16, layers: 1, heads: 2, intermediate: 32, vocabSize: 64)
        let model = EncoderTrainer(encoder: SentenceEncoder(config: config, randomSeed: 1))
        let plan = try XCTUnwrap(try Trainer.planMemory(model, config: tinySchedule, maxTokens: nil))
        XCTAssertEqual(plan.fixedBytes, 16 * model.parameterCount + MiniBatching.runtimeBytes)
    }

    /// The real encoder lends its own arrays: the checkpoint is streamed from them and the rollback reads
    /// straight into them, to the bytes of the checkpoint (after one) or of the start (before any).
    func testRealEncoderRollsBackInPlace() throws {
        let directory = try SentenceTransformerDirectory.read(RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny"))
        var three = tinySchedule; three.maxSteps = 3; three.learningRate = 1e-3
        func encoder() throws -> EncoderTrainer { try EncoderTrainer(directory: directory, config: three) }
        let reference = try encoder()
        let (referenceOut, _) = try train(reference, three)
        var six = three; six.maxSteps = 6
        let failed = try encoder()
        let (out, _) = try train(failed, six, faults: [6: .nan])
        XCTAssertEqual(failed.trainingState(), reference.trainingState())
        XCTAssertEqual(failed.optimizerStep, 3)
        XCTAssertEqual(try latestWeights(out), try latestWeights(referenceOut))

        var two = three; two.maxSteps = 2
        let early = try encoder()
        _ = try train(early, two, faults: [2: .nan])
        XCTAssertEqual(early.trainingState(), try encoder().trainingState(), "the start: initial weights, zero moments, step 0")
    }
}
