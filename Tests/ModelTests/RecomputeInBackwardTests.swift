// A budget that fits the batch only without kept feed-forward inputs and attention outputs: the plan recomputes
// them in backward, in one pass, and the step's loss and gradients are the bits of a step that keeps them.
import XCTest
@testable import LodestoneCore

final class RecomputeInBackwardTests: XCTestCase {
    let columns: [[[Int32]]] = [
        [[1, 5, 9, 2], [1, 7, 2], [1, 4, 4, 6, 8, 9, 2]],
        [[1, 3, 3, 8, 2], [1, 6, 2], [1, 10, 2]],
    ]

    func config(mosaic: Bool) -> EncoderConfig {
        EncoderConfig(mosaic: mosaic, hidden: 8, layers: 3, heads: 2, intermediate: 40, vocabSize: 12,
                      maxPositionEmbeddings: 8, alibiStartingSize: 2, initializerRange: 0.5)
    }

    func trainer(mosaic: Bool, dropout: DropoutRates) -> EncoderTrainer {
        EncoderTrainer(encoder: SentenceEncoder(config: config(mosaic: mosaic), randomSeed: 5),
                       loss: MultipleNegativesRankingLoss(scale: 20), dropout: dropout)
    }

    /// The budget under which the whole batch fits one pass only if `recompute`; nudged by `slack` bytes.
    func budget(_ t: EncoderTrainer, recompute: Bool, slack: Int = 0) throws -> Int {
        let whole = RaggedBatch(lengths: columns.flatMap { $0 }.map(\.count))
        let open = t.memoryPlan(whole: whole, anchors: columns[0].count, columns: columns.count)
        // The planner takes a pass's footprint as linear in its tokens, a sequence per token (the most a pass can
        // hold) and the masks' bits per token.
        func footprint(_ tokens: Int) -> Int {
            Activations.footprint(config: t.encoder.config, tokens: tokens, sequences: tokens,
                                  attentionScratch: attentionScratchCount(RaggedBatch(lengths: [whole.maxLength])),
                                  training: true, dropoutMasks: t.dropout.hidden > 0, recomputeInBackward: recompute).bytes
        }
        let activations = footprint(0) + whole.tokenCount * (footprint(1) - footprint(0))
        return open.fixedBytes + open.stepBytes + activations + slack
    }

    func testRecomputedFeedForwardGivesTheKeptStep() throws {
        for mosaic in [true, false] {
            let rates = DropoutRates(hidden: 0.2, attention: 0.1)
            let kept = trainer(mosaic: mosaic, dropout: rates)
            let reference = try kept.computeGradients(columns: columns, dropoutSeed: 9)
            let lean = trainer(mosaic: mosaic, dropout: rates)
            lean.batching = MiniBatching(memoryBudget: try budget(lean, recompute: true))
            let r = try lean.computeGradients(columns: columns, dropoutSeed: 9)
            let what = mosaic ? "mosaic" : "bert"
            XCTAssertEqual(lean.lastStepPasses.training, 1, "\(what): one pass")
            XCTAssertEqual(lean.lastStepPasses.embedding, 0, "\(what): no extra embedding pass")
            XCTAssertEqual(r.loss, reference.loss, what)
            // The recomputed GEMM is the forward's own call on the same inputs: the same bits, so the same gradients.
            let differing = (0..<kept.parameterCount).filter { lean.gradients[$0] != kept.gradients[$0] }
            XCTAssertEqual(differing.count, 0, "\(what): gradients differ at \(differing.prefix(5))")
        }
    }

    func testThePlanRecomputesOnlyWhenThatSavesAPass() throws {
        let t = trainer(mosaic: true, dropout: .none)
        let whole = RaggedBatch(lengths: columns.flatMap { $0 }.map(\.count))
        func plan(_ budget: Int) -> MemoryPlan {
            t.batching = MiniBatching(memoryBudget: budget)
            return t.memoryPlan(whole: whole, anchors: columns[0].count, columns: columns.count)
        }
        func passes(_ p: MemoryPlan) -> Int { p.miniBatches(lengths: whole.lengths, range: 0..<whole.count).training.count }
        let roomy = plan(try budget(t, recompute: false))
        XCTAssertFalse(roomy.recomputeInBackward, "everything fits: keep the inputs")
        XCTAssertEqual(passes(roomy), 1)
        let tight = plan(try budget(t, recompute: false, slack: -1))
        XCTAssertTrue(tight.recomputeInBackward, "a byte short of keeping them: recompute")
        XCTAssertEqual(passes(tight), 1)
        XCTAssertLessThan(tight.peakBytes, roomy.peakBytes)
        let tighter = plan(try budget(t, recompute: true, slack: -1))
        XCTAssertFalse(tighter.recomputeInBackward, "no single pass fits either way: cached passes keep their inputs")
        XCTAssertGreaterThan(passes(tighter), 1)
        XCTAssertTrue(tight.summary(rows: 6, tokensPerText: 4).contains("feed-forward inputs and attention outputs recomputed"))
    }

    func testTheFootprintShrinksByTheFeedForwardInputs() {
        let c = config(mosaic: true), T = 100
        func bytes(_ recompute: Bool) -> Int {
            Activations.footprint(config: c, tokens: T, sequences: 10, attentionScratch: 0, training: true,
                                  dropoutMasks: false, recomputeInBackward: recompute).bytes
        }
        // Each of the 3 layers keeps T × (2·intermediate + hidden) floats less; one attention output is shared.
        XCTAssertEqual(bytes(false) - bytes(true), 4 * (3 * T * (2 * 40 + 8) - T * 8))
    }
}
