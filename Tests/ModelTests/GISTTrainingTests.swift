// GISTEmbedLoss inside a training step: the guide embeds the batch in the step, cached (mini-batch) passes and
// ranks give the one-pass step's loss and gradients, the memory plan counts its scratch, and a step without a
// guide is refused. Against sentence-transformers itself: LossConformanceTests (Tests/Fixtures/reference/losses).
import Foundation
import XCTest
@testable import LodestoneCore

final class GISTTrainingTests: XCTestCase {
    let columns: [[[Int32]]] = [
        [[1, 5, 9, 2], [1, 7, 2], [1, 4, 4, 6, 8, 9, 2], [1, 5, 9, 2]],
        [[1, 3, 3, 8, 2], [1, 6, 2], [1, 10, 2], [1, 3, 8, 2]],
        [[1, 4, 2], [1, 9, 9, 9, 5, 2], [1, 11, 3, 2], [1, 6, 2]],
    ]
    let gist = GISTEmbedLoss(temperature: 0.05, margin: 0.02)

    func trainer(_ loss: any EmbeddingLoss, textsPerPass: Int?, guide: SentenceModel?) -> EncoderTrainer {
        let config = EncoderConfig(mosaic: true, hidden: 6, layers: 2, heads: 3, intermediate: 5, vocabSize: 12,
                                   maxPositionEmbeddings: 8, alibiStartingSize: 2, initializerRange: 0.5)
        let t = EncoderTrainer(encoder: SentenceEncoder(config: config, randomSeed: 11), loss: loss,
                               dropout: DropoutRates(hidden: 0.2, attention: 0.25))
        t.batching = MiniBatching(maxTexts: textsPerPass)
        t.guide = guide
        return t
    }

    /// The repo's tiny MosaicBERT (another width, another vocabulary size: the ids above fit it).
    func guideModel() throws -> SentenceModel { try SentenceModel.load(mosaicTiny) }

    func gradients(_ t: EncoderTrainer) -> [Float] { Array(UnsafeBufferPointer(start: t.gradients, count: t.parameterCount)) }
    func worstDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    func testCachedGISTGivesTheOnePassLossAndGradients() throws {
        let guide = try guideModel()
        let one = trainer(gist, textsPerPass: nil, guide: guide)
        let reference = try one.computeGradients(columns: columns, dropoutSeed: 4)
        let expected = gradients(one)
        let scale = expected.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 0)
        for size in [1, 3, 5] {
            let t = trainer(gist, textsPerPass: size, guide: guide)
            let r = try t.computeGradients(columns: columns, dropoutSeed: 4)
            XCTAssertEqual(t.lastStepPasses.training, (12 + size - 1) / size, "the step was split")
            XCTAssertEqual(r.loss, reference.loss, accuracy: 1e-5 * max(1, abs(reference.loss)), "\(size) per pass")
            XCTAssertLessThan(worstDifference(gradients(t), expected), 1e-5 * scale, "\(size) text(s) per pass")
        }
    }

    func testRanksSharingAGISTStepEndWithTheSingleProcessGradients() throws {
        let single = trainer(gist, textsPerPass: nil, guide: try guideModel())
        let reference = try single.computeGradients(columns: columns, dropoutSeed: 3)
        // Each rank loads its own guide, as each process does.
        let byRank = try stepOnRanks(2, columns: columns, dropoutSeed: 3) { rank in
            self.trainer(self.gist, textsPerPass: rank == 0 ? 2 : nil, guide: try self.guideModel())
        }
        let scale = gradients(single).map(abs).max() ?? 0
        for (rank, (r, g)) in byRank.enumerated() {
            XCTAssertEqual(r.loss, reference.loss, accuracy: 1e-5 * max(1, abs(reference.loss)), "rank \(rank)")
            XCTAssertLessThan(worstDifference(g, gradients(single)), 1e-5 * scale, "rank \(rank)")
        }
    }

    /// The guide's own ids (`guideColumns`) are what it embeds: other ids give another loss.
    func testTheGuideEmbedsItsOwnTokenization() throws {
        let guide = try guideModel()
        let same = try trainer(gist, textsPerPass: nil, guide: guide).computeGradients(columns: columns, guideColumns: columns)
        let implicit = try trainer(gist, textsPerPass: nil, guide: guide).computeGradients(columns: columns)
        XCTAssertEqual(same.loss, implicit.loss)
        // A guide that sees every text alike: every candidate ties with the positive, none is above it, so
        // nothing is dropped (the strict > of sentence-transformers' mask).
        let alike = columns.map { $0.map { _ in [Int32(1), 5, 2] } }
        let other = try trainer(gist, textsPerPass: nil, guide: guide).computeGradients(columns: columns, guideColumns: alike)
        XCTAssertNotEqual(other.loss, same.loss)
    }

    /// With nothing dropped and no anchor–anchor or positive–positive terms, GIST is MNRL at scale 1/temperature:
    /// two implementations of the same cross-entropy.
    func testGISTWithoutMaskingOrContrastsIsMNRL() throws {
        let plain = GISTEmbedLoss(temperature: 0.05, margin: -10, contrastAnchors: false, contrastPositives: false)
        let t = trainer(plain, textsPerPass: nil, guide: try guideModel())
        let g = try t.computeGradients(columns: columns, dropoutSeed: 2)
        let m = trainer(MultipleNegativesRankingLoss(scale: 20), textsPerPass: nil, guide: nil)
        let r = try m.computeGradients(columns: columns, dropoutSeed: 2)
        XCTAssertEqual(g.loss, r.loss, accuracy: 1e-5 * max(1, r.loss))
        XCTAssertLessThan(worstDifference(gradients(t), gradients(m)), 1e-5 * (gradients(m).map(abs).max() ?? 0))
    }

    func testAStepWithoutItsGuideIsRefused() {
        XCTAssertThrowsError(try trainer(gist, textsPerPass: nil, guide: nil).computeGradients(columns: columns)) { error in
            XCTAssertTrue("\(error)".contains("needs a guide model"), "\(error)")
        }
    }

    /// The step's buffers: embeddings and their gradients (2 · rows · hidden) and GIST's scores, the guide's and
    /// their gradient (3 · B · (rows + B)); in bytes.
    func testMemoryPlanCountsTheGISTScratch() {
        let c = EncoderConfig(mosaic: true, hidden: 64, layers: 2, heads: 4, intermediate: 128, vocabSize: 100,
                              maxPositionEmbeddings: 512, alibiStartingSize: 512, initializerRange: 0.02)
        let plan = MemoryPlan(config: c, parameterCount: 1000, batching: MiniBatching(), longest: 10, rows: 30, tokens: 300,
                              anchors: 10, columns: 3, loss: gist, dropout: false)
        XCTAssertEqual(plan.stepBytes, 4 * (2 * 30 * 64 + 3 * 10 * 40))
    }
}
