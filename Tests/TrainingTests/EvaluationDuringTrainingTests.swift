import Foundation
import XCTest
@testable import LodestoneCore

/// `04-training --eval`: the model is scored after every succeeded epoch (never a failed one), the rows survive a
/// kill and resume exactly once, the plot shows them, and the summary names the best epoch.
final class EvaluationDuringTrainingTests: XCTestCase {
    var config: TrainingConfig { tinySchedule }

    /// A score that moves with the parameters, so each epoch's row is its own.
    static func score(_ model: ToyModel) -> [EvaluationResult] {
        [EvaluationResult(task: "retrieval", data: "sets/a,b", split: nil, model: "toy",
                          metrics: ["cosine_ndcg@10": Double(model.p.reduce(0, +)), "cosine_mrr@10": Double(model.p[0])])]
    }

    func makeTrainer(out: URL, faults: [Int: Fault] = [:], resume: Bool = false) throws -> (Trainer, ToyModel) {
        let (files, open) = makeCorpus(["a": 40, "b": 20])
        let sampler = try LodestoneSampler(files: files, chunks: config.chunks, batchSize: config.batchSize,
                                           maxWords: config.maxSeqLength, seed: config.seed, open: open)
        let model = ToyModel()
        var options = TrainerOptions(config: config, outputDirectory: out)
        options.faults = FaultPlan(faults); options.showProgress = false
        options.evaluate = { Self.score(model) }
        let trainer = try Trainer(model: model, tokenizer: HashTokenizer(), sampler: sampler,
                                  checkpointer: Checkpointer(store: try LocalStore(root: out.appendingPathComponent("checkpoints"))),
                                  options: options)
        if resume { XCTAssertTrue(try trainer.resume()) }
        return (trainer, model)
    }

    func testSucceededEpochsAreScoredAndTheBestIsNamed() throws {
        let out = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: out) }
        let (trainer, _) = try makeTrainer(out: out, faults: [5: .nan])   // chunk 0, epoch 1 fails
        XCTAssertEqual(try trainer.run(), .finished)
        let rows = try EvalLog.read(trainer.evalCSVURL)
        XCTAssertEqual(rows.filter(\.primary).map { [$0.step, $0.chunk, $0.epoch] }, [[3, 0, 0], [8, 1, 0], [11, 1, 1]], "a failed epoch stops at its bad step (5) and is not scored")
        XCTAssertEqual(rows.map(\.metric), Array(repeating: ["cosine_mrr@10", "cosine_ndcg@10"], count: 3).flatMap { $0 })
        XCTAssertEqual(rows.first?.data, "sets/a,b", "a path with a comma survives the CSV")
        let best = try XCTUnwrap(trainer.summary().bestEvaluation)
        XCTAssertEqual(best.value, rows.filter(\.primary).map(\.value).max())
        XCTAssertTrue(trainer.summary().text.contains("best epoch: cycle 0, chunk \(best.chunk), epoch \(best.epoch)"))
        let svg = try String(contentsOf: trainer.lossPlotURL, encoding: .utf8)
        XCTAssertTrue(svg.contains(">evaluation<") && svg.contains("cosine_ndcg@10"), "the plot has the evaluation panel")
    }

    func testKillAndResumeKeepEachEvaluationOnce() throws {
        let a = temporaryDirectory(), b = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let (straight, _) = try makeTrainer(out: a)
        XCTAssertEqual(try straight.run(), .finished)
        let (killed, _) = try makeTrainer(out: b, faults: [8: .crash])
        XCTAssertThrowsError(try killed.run())
        let (resumed, _) = try makeTrainer(out: b, resume: true)
        XCTAssertEqual(try resumed.run(), .finished)
        XCTAssertEqual(try EvalLog.read(resumed.evalCSVURL), try EvalLog.read(straight.evalCSVURL))
        XCTAssertEqual(try EvalLog.read(straight.evalCSVURL).filter(\.primary).count, 4)
    }
}
