// bf16 GEMMs on the reference fixtures: embeddings against PyTorch's fp32 ones (cosine ≥ 0.999), and a few
// AdamW steps whose losses stay within 2 % of PyTorch's first loss and of our fp32 run. Skipped on a CPU
// without avx512_bf16 (BF16GEMMTests checks the refusal there).
import Foundation
import XCTest
@testable import LodestoneCore

final class BF16ConformanceTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(CPUFeatures.host.hasBF16GEMM, "this CPU lacks avx512_bf16")
    }

    func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
        return ab / (aa * bb).squareRoot()
    }

    func testBF16EmbeddingsMatchPyTorchFP32() throws {
        for dir in try ModelCase.all() {
            let c = try ModelCase(directory: dir)
            let encoder = try c.loadEncoder()
            encoder.precision = .bf16
            let H = c.config.hidden
            for (k, column) in c.columns.enumerated() {
                let got = try encoder.embed(column).flatMap { $0 }
                let want = try c.expect("column\(k).sentence_embeddings").values
                XCTAssertEqual(got.count, want.count)
                for row in 0..<column.count {
                    let cos = cosine(got[row * H..<(row + 1) * H], want[row * H..<(row + 1) * H])
                    XCTAssertGreaterThanOrEqual(cos, 0.999, "\(c.name) column \(k) row \(row)")
                }
            }
        }
    }

    /// One batch of every fixture row, four times over (hundreds of tokens: several of the kernel's row blocks),
    /// against PyTorch's fp32 embeddings of those rows.
    func testBF16EmbeddingsOfALargeBatchMatchPyTorchFP32() throws {
        for dir in try ModelCase.all() {
            let c = try ModelCase(directory: dir)
            let encoder = try c.loadEncoder()
            encoder.precision = .bf16
            let H = c.config.hidden
            var rows: [[Int32]] = [], want: [ArraySlice<Float>] = []
            for (k, column) in c.columns.enumerated() {
                let expected = try c.expect("column\(k).sentence_embeddings").values
                for r in 0..<column.count { rows.append(column[r]); want.append(expected[r * H..<(r + 1) * H]) }
            }
            let got = try encoder.embed(Array(repeating: rows, count: 4).flatMap { $0 })
            XCTAssertGreaterThan(got.count * 8, 240, "the batch must span several row blocks")
            for (i, embedding) in got.enumerated() {
                XCTAssertGreaterThanOrEqual(cosine(embedding[...], want[i % rows.count]), 0.999, "\(c.name) row \(i)")
            }
        }
    }

    func trainLosses(_ c: ModelCase, _ precision: MatmulPrecision, steps: Int) throws -> [Float] {
        let encoder = try c.loadEncoder()
        encoder.precision = precision
        let trainer = EncoderTrainer(encoder: encoder)
        return try (0..<steps).map { _ in try trainer.trainStep(columns: c.columns, learningRate: 1e-4).loss }
    }

    /// At 1e-4 (fine-tuning's order): AdamW's first steps move every weight by about lr·sign(g), so at the tiny
    /// models' 1e-3 the bf16 rounding of near-zero gradients flips enough signs to drive the two runs apart
    /// within a step or two, which says nothing about the GEMMs.
    func testBF16TrainingLossesStayWithinTwoPercentOfFP32() throws {
        for dir in try ModelCase.all() {
            let c = try ModelCase(directory: dir)
            let bf16 = try trainLosses(c, .bf16, steps: 5), fp32 = try trainLosses(c, .fp32, steps: 5)
            let pytorch = try c.expect("loss").values[0]   // the first step's loss, before any update
            XCTAssertEqual(Double(bf16[0]), Double(pytorch), accuracy: 0.02 * Double(abs(pytorch)), "\(c.name) first loss vs PyTorch")
            for step in 0..<5 {
                XCTAssertEqual(Double(bf16[step]), Double(fp32[step]), accuracy: 0.02 * Double(abs(fp32[step])),
                               "\(c.name) step \(step): bf16 \(bf16) vs fp32 \(fp32)")
            }
            XCTAssertLessThan(bf16[4], bf16[0], "\(c.name): bf16 training lowers the loss")
            XCTAssertNotEqual(bf16, fp32, "\(c.name): the bf16 run must actually round (identical losses mean fp32 ran)")
        }
    }

    /// A checkpoint is fp32 whichever precision trained it: the weights after bf16 steps load into an fp32 encoder
    /// bit for bit.
    func testWeightsAfterBF16StepsAreFP32AndInterchangeable() throws {
        let c = try ModelCase(directory: try ModelCase.all()[0])
        let encoder = try c.loadEncoder()
        encoder.precision = .bf16
        try EncoderTrainer(encoder: encoder).trainStep(columns: c.columns, learningRate: 1e-3)
        let weights = Dictionary(uniqueKeysWithValues: encoder.namedWeights())
        let reloaded = try SentenceEncoder(config: c.config, weights: weights)
        XCTAssertEqual(reloaded.precision, .fp32)
        XCTAssertEqual(try reloaded.embed(c.columns[0]), try { encoder.precision = .fp32; return try encoder.embed(c.columns[0]) }())
    }
}
