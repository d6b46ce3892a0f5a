// Finite-difference checks of the whole encoder + MNRL backward (both architectures, tiny random models),
// and exact resume of the trainer from its exported state.
import Foundation
import XCTest
@testable import LodestoneCore

final class EncoderGradientTests: XCTestCase {
    let columns: [[[Int32]]] = [[[1, 5, 9, 2], [1, 7, 2]], [[1, 3, 3, 8, 2], [1, 6, 2]], [[1, 4, 2], [1, 9, 9, 9, 5, 2]]]

    func tinyConfig(mosaic: Bool) -> EncoderConfig {
        // 3 heads: not a power of two, so the interleaved ALiBi slopes are exercised; alibi size below the lengths.
        EncoderConfig(mosaic: mosaic, hidden: 6, layers: 2, heads: 3, intermediate: 5, vocabSize: 12,
                      maxPositionEmbeddings: 8, alibiStartingSize: 2, initializerRange: 0.5)
    }

    /// `dropout`: every site on, with one fixed seed (fixed masks).
    ///
    /// The loss runs at scale 1, not training's 20: at scale 20 the loss of this tiny model is so curved and its
    /// float32 rounding (a few ulps, which differ between BLAS kernels) so amplified that no central-difference
    /// step resolves some gradients to 3 % (token_type_embeddings[0] of BERT with dropout: truncation error
    /// −5e-4 at eps 1e-3, rounding error up to 2.4e-3, while the analytic value agrees across kernels to 2e-7).
    /// At scale 1 the same probes agree to 2e-4 absolute or 0.3 % on every kernel, ten times tighter than before.
    /// Scale 20 itself is checked by the loss kernel's own finite differences (KernelGradientTests) and by the
    /// conformance suite's PyTorch gradients.
    func checkWholeModel(mosaic: Bool, symmetric: Bool, dropout: DropoutRates = .none) throws {
        let enc = SentenceEncoder(config: tinyConfig(mosaic: mosaic), randomSeed: 7)
        // Make LayerNorm weights/biases non-trivial so their gradients are tested at a generic point.
        for e in enc.layout.entries where e.shape.count == 1 {
            for i in 0..<e.count { enc.parameters[e.offset + i] += 0.3 * Float(sin(Double(e.offset + i))) }
        }
        let seed: UInt64 = 2024
        let trainer = EncoderTrainer(encoder: enc, loss: MultipleNegativesRankingLoss(scale: 1, symmetric: symmetric), dropout: dropout)
        let loss = try trainer.computeGradients(columns: columns, dropoutSeed: seed).loss
        if dropout != .none {
            XCTAssertNotEqual(loss, try EncoderTrainer(encoder: enc, loss: MultipleNegativesRankingLoss(scale: 1, symmetric: symmetric)).computeGradients(columns: columns).loss, "dropout is on")
        }
        let analytic = Array(UnsafeBufferPointer(start: trainer.gradients, count: enc.parameterCount))
        let probe = EncoderTrainer(encoder: enc, loss: MultipleNegativesRankingLoss(scale: 1, symmetric: symmetric), dropout: dropout)
        for e in enc.layout.entries {
            var values = Array(UnsafeBufferPointer(start: enc.parameters + e.offset, count: e.count))
            let original = values
            checkGradient("\(mosaic ? "mosaic" : "bert") (dropout \(dropout)) \(e.name)", values: &values,
                          analytic: Array(analytic[e.offset..<(e.offset + e.count)]), eps: 3e-3,
                          abs: 2e-4, rel: 3e-3, samples: 6) { v in
                v.withUnsafeBufferPointer { (enc.parameters + e.offset).update(from: $0.baseAddress!, count: e.count) }
                return Double(try! probe.computeGradients(columns: self.columns, dropoutSeed: seed).loss)
            }
            original.withUnsafeBufferPointer { (enc.parameters + e.offset).update(from: $0.baseAddress!, count: e.count) }
        }
    }

    func testMosaicBackwardMatchesFiniteDifferences() throws { try checkWholeModel(mosaic: true, symmetric: false) }
    func testBertBackwardMatchesFiniteDifferences() throws { try checkWholeModel(mosaic: false, symmetric: false) }
    func testSymmetricLossBackwardMatchesFiniteDifferences() throws { try checkWholeModel(mosaic: true, symmetric: true) }
    func testMosaicBackwardWithDropoutMatchesFiniteDifferences() throws {
        try checkWholeModel(mosaic: true, symmetric: false, dropout: DropoutRates(hidden: 0.2, attention: 0.25))
    }
    func testBertBackwardWithDropoutMatchesFiniteDifferences() throws {
        try checkWholeModel(mosaic: false, symmetric: false, dropout: DropoutRates(hidden: 0.2, attention: 0.25))
    }

    func testSavedStateResumesExactly() throws {
        let cfg = tinyConfig(mosaic: true)
        let straight = EncoderTrainer(encoder: SentenceEncoder(config: cfg, randomSeed: 3))
        for _ in 0..<4 { try straight.trainStep(columns: columns, learningRate: 1e-2) }

        let first = EncoderTrainer(encoder: SentenceEncoder(config: cfg, randomSeed: 3))
        for _ in 0..<2 { try first.trainStep(columns: columns, learningRate: 1e-2) }
        var state = ModelTrainingState()
        first.exportState(into: &state)
        let resumed = EncoderTrainer(encoder: SentenceEncoder(config: cfg, randomSeed: 99))
        try resumed.importState(state)
        XCTAssertEqual(resumed.optimizerStep, 2)
        for _ in 0..<2 { try resumed.trainStep(columns: columns, learningRate: 1e-2) }
        let a = straight.encoder.namedWeights(), b = resumed.encoder.namedWeights()
        for (x, y) in zip(a, b) { XCTAssertEqual(x.1.values, y.1.values, x.0) }
    }

    func testResetOptimizerZeroesTheMomentsAndKeepsTheParameters() throws {
        let trainer = EncoderTrainer(encoder: SentenceEncoder(config: tinyConfig(mosaic: true), randomSeed: 3))
        for _ in 0..<2 { try trainer.trainStep(columns: columns, learningRate: 1e-2) }
        var before = ModelTrainingState(), after = ModelTrainingState()
        trainer.exportState(into: &before)
        XCTAssertTrue(before.firstMoments.contains { $0 != 0 })
        trainer.resetOptimizer()
        trainer.exportState(into: &after)
        XCTAssertEqual(after.parameters, before.parameters)
        XCTAssertTrue(after.firstMoments.allSatisfy { $0 == 0 } && after.secondMoments.allSatisfy { $0 == 0 })
        XCTAssertEqual(after.optimizerStep, 0)
        XCTAssertThrowsError(try trainer.importState(ModelTrainingState(count: 3))) { XCTAssertTrue("\($0)".contains("training state"), "\($0)") }
    }

    func testWeightsRoundTripThroughSafeTensors() throws {
        for mosaic in [true, false] {
            let enc = SentenceEncoder(config: tinyConfig(mosaic: mosaic), randomSeed: 5)
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("lodestone-w-\(getpid()).safetensors")
            defer { try? FileManager.default.removeItem(at: url) }
            try SafeTensors.write(enc.namedWeights(), to: url, metadata: ["format": "pt"])
            var loaded = try SafeTensors.read(url)
            loaded["cls.predictions.bias"] = TensorData(shape: [12], values: [Float](repeating: 1, count: 12)) // ignored
            let again = try SentenceEncoder(config: tinyConfig(mosaic: mosaic), weights: loaded)
            XCTAssertEqual(try again.embed(columns[0]), try enc.embed(columns[0]))
            XCTAssertEqual(enc.namedWeights().first?.0, mosaic ? "bert.embeddings.word_embeddings.weight" : "embeddings.word_embeddings.weight")
        }
    }

    func testRandomInitFollowsInitializerRange() {
        let cfg = EncoderConfig(mosaic: true, hidden: 32, layers: 1, heads: 4, intermediate: 64, vocabSize: 200, initializerRange: 0.02)
        let enc = SentenceEncoder(config: cfg, randomSeed: 1)
        let w = Dictionary(uniqueKeysWithValues: enc.namedWeights())
        let word = w["bert.embeddings.word_embeddings.weight"]!.values
        let std = (word.map { Double($0 * $0) }.reduce(0, +) / Double(word.count - 32)).squareRoot()
        XCTAssertEqual(std, 0.02, accuracy: 0.002)
        XCTAssertEqual(Array(word[0..<32]), [Float](repeating: 0, count: 32), "padding row")
        XCTAssertEqual(w["bert.embeddings.LayerNorm.weight"]!.values, [Float](repeating: 1, count: 32))
        XCTAssertEqual(w["bert.encoder.layer.0.mlp.wo.bias"]!.values, [Float](repeating: 0, count: 32))
        XCTAssertEqual(enc.parameterCount, 200 * 32 + 2 * 32 + 2 * 32 + (96 * 32 + 96) + (32 * 32 + 32) + 64 + 128 * 32 + 32 * 64 + 32 + 64)
    }
}
