// A Matryoshka run's configuration and evaluation: the flags and the config file land in TrainingConfig and build
// the loss; eval.csv names each width's metrics dim_<d>_… (sentence-transformers' naming); loss.svg draws a panel
// per width; the best epoch is chosen at one width, not across them.
import Foundation
import FoundationXML
import XCTest
@testable import LodestoneCore
import LodestoneCLI
import LodestoneTrainingCLI

final class MatryoshkaEvaluationTests: XCTestCase {
    func testFlagsAndConfigFileBuildTheMatryoshkaLoss() throws {
        let c = try TrainingOverrides.parse(["--loss", "matryoshka", "--matryoshka-dims", "8, 32,16",
                                             "--matryoshka-weights", "1,0.5,2", "--scale", "10"]).trainingConfig()
        XCTAssertEqual(c.loss, .matryoshka)
        XCTAssertEqual(c.matryoshkaDims, [8, 32, 16])
        XCTAssertEqual(c.matryoshkaWeights, [1, 0.5, 2])
        let loss = try XCTUnwrap(c.embeddingLoss() as? MatryoshkaLoss)
        XCTAssertEqual(loss.dims, [32, 16, 8])
        XCTAssertEqual(loss.weights, [0.5, 2, 1])
        XCTAssertEqual(loss.inner as? MultipleNegativesRankingLoss, MultipleNegativesRankingLoss(scale: 10, symmetric: false))
        XCTAssertEqual(c.problem(embeddingDimension: 16), "32 is larger than the model's embedding dimension 16")
        XCTAssertNil(c.problem(embeddingDimension: 32))

        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.json")
        try Data(#"{"loss": "matryoshka", "matryoshka_dims": [4, 2], "symmetric_loss": true}"#.utf8).write(to: file)
        let fromFile = try TrainingConfig.load(file)
        let m = try XCTUnwrap(fromFile.embeddingLoss() as? MatryoshkaLoss)
        XCTAssertEqual(m.dims, [4, 2]); XCTAssertEqual(m.weights, [1, 1])
        XCTAssertEqual(m.inner as? MultipleNegativesRankingLoss, MultipleNegativesRankingLoss(scale: 20, symmetric: true))
        XCTAssertEqual(TrainingConfig().embeddingLoss() as? MultipleNegativesRankingLoss, MultipleNegativesRankingLoss())
    }

    func row(_ step: Int, _ metric: String, _ value: Double, data: String = "pairs.jsonl") -> EvalRow {
        EvalRow(step: step, cycle: 0, chunk: 0, epoch: step, data: data, metric: metric, value: value, primary: true)
    }

    func testWidthsOfEvalRows() {
        XCTAssertEqual(row(1, "dim_64_cosine_ndcg@10", 0).dimension, 64)
        XCTAssertEqual(row(1, "dim_64_cosine_ndcg@10", 0).baseMetric, "cosine_ndcg@10")
        XCTAssertNil(row(1, "cosine_ndcg@10", 0).dimension)
        XCTAssertEqual(row(1, "cosine_ndcg@10", 0).baseMetric, "cosine_ndcg@10")
        XCTAssertEqual(EvalRow.metricName("spearman_cosine", dimension: 8), "dim_8_spearman_cosine")
        // The small width scores higher at step 1 than the large one ever does: still, the best is the large width's.
        let rows = [row(1, "dim_16_cosine_mrr@10", 0.5), row(1, "dim_4_cosine_mrr@10", 0.9),
                    row(2, "dim_16_cosine_mrr@10", 0.6), row(2, "dim_4_cosine_mrr@10", 0.1)]
        XCTAssertEqual(rows.best?.step, 2)
        XCTAssertEqual(rows.best?.metric, "dim_16_cosine_mrr@10")
    }

    func testPlotHasAPanelPerWidth() {
        let losses = (1...10).map { LossRow(step: $0, cycle: 0, chunk: 0, epoch: 0, loss: 1, lossAverage: 1, learningRate: 1e-4) }
        let evals = [row(5, "dim_16_cosine_mrr@10", 0.5), row(5, "dim_4_cosine_mrr@10", 0.4),
                     row(10, "dim_16_cosine_mrr@10", 0.6), row(10, "dim_4_cosine_mrr@10", 0.45)]
        let svg = LossPlot.svg(rows: losses, evals: evals)
        XCTAssertTrue(XMLParser(data: Data(svg.utf8)).parse())
        XCTAssertTrue(svg.contains(">evaluation, 16 dims<"), svg)
        XCTAssertTrue(svg.contains(">evaluation, 4 dims<"), svg)
        XCTAssertTrue(svg.contains("pairs.jsonl: cosine_mrr@10<"), svg)
        let plain = LossPlot.svg(rows: losses, evals: [row(5, "cosine_mrr@10", 0.5)])
        XCTAssertTrue(plain.contains(">evaluation<"))
        XCTAssertFalse(plain.contains("dims<"))
    }
}
