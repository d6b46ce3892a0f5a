// Loss, every parameter gradient, the gradient norm, and two clipped AdamW steps of every model case,
// against PyTorch + sentence-transformers (1e-4 absolute or 1e-3 relative): in one pass, and as cached MNRL
// with passes of one and of two texts (the gradients must not depend on how the batch is split).
import Foundation
import XCTest
@testable import LodestoneCore

final class GradientConformanceTests: XCTestCase {
    /// The whole batch in one pass, then cached MNRL with passes of 1 and 2 texts.
    let passSizes: [Int?] = [nil, 1, 2]

    func trainer(for c: ModelCase, textsPerPass: Int? = nil) throws -> EncoderTrainer {
        let o = c.optimizer
        let betas = (o["betas"] as? [NSNumber])?.map(\.floatValue) ?? [0.9, 0.999]
        let adam = AdamWConfig(beta1: betas[0], beta2: betas[1], eps: (o["eps"] as? NSNumber)?.floatValue ?? 1e-6,
                               weightDecay: (o["weight_decay"] as? NSNumber)?.floatValue ?? 0.01,
                               noDecaySubstrings: o["no_decay_substrings"] as? [String] ?? ["bias", "LayerNorm.bias", "LayerNorm.weight"])
        let lossJSON = c.caseJSON["loss"] as? [String: Any] ?? [:]
        let loss = MultipleNegativesRankingLoss(scale: (lossJSON["scale"] as? NSNumber)?.floatValue ?? 20,
                                                symmetric: (lossJSON["direction"] as? String ?? "").contains("symmetric"))
        let t = EncoderTrainer(encoder: try c.loadEncoder(), loss: loss, adamW: adam,
                               maxGradNorm: (o["max_grad_norm"] as? NSNumber)?.floatValue ?? 1.0)
        t.batching = MiniBatching(maxTexts: textsPerPass)
        return t
    }

    /// Rows of the word-embedding matrix that the fixture stores.
    func rows(_ t: TensorData, _ rows: [Int], width: Int) -> [Float] {
        rows.flatMap { t.values[$0 * width..<($0 + 1) * width] }
    }

    func compareParameters(_ c: ModelCase, label: String, prefix: String, actual: (String) -> TensorData?) throws {
        let wordRows = try c.expect("word_embedding_rows").values.map { Int($0) }
        XCTAssertFalse(c.parameterNames.isEmpty, "\(c.name): case.json lists no parameter_names")
        for name in c.parameterNames {
            let expected = try c.expect(prefix + name)
            guard let got = actual(name) else { XCTFail("\(c.name): no parameter \(name)"); continue }
            var values = got.values
            if name.hasSuffix("word_embeddings.weight") { values = rows(got, wordRows, width: c.config.hidden) }
            assertClose(values, expected.values, abs: 1e-4, rel: 1e-3, "\(label) \(prefix)\(name)")
        }
    }

    func testLossGradientsAndNormMatchPyTorchForEveryCase() throws {
        for dir in try ModelCase.all() {
            for size in passSizes {
                let c = try ModelCase(directory: dir)
                let name = "\(c.name) (texts per pass: \(size.map(String.init) ?? "all"))"
                let t = try trainer(for: c, textsPerPass: size)
                let r = try t.computeGradients(columns: c.columns)
                assertClose([r.loss], try c.expect("loss").values, abs: 1e-4, "\(name) loss")
                assertClose([r.gradNorm], try c.expect("grad_norm_before_clip").values, abs: 1e-4, rel: 1e-3, "\(name) grad_norm")
                try compareParameters(c, label: name, prefix: "grad.") { t.gradient(named: $0) }
            }
        }
    }

    func testTwoAdamWStepsMatchPyTorchForEveryCase() throws {
        for dir in try ModelCase.all() {
            for size in passSizes {
                let c = try ModelCase(directory: dir)
                let name = "\(c.name) (texts per pass: \(size.map(String.init) ?? "all"))"
                let t = try trainer(for: c, textsPerPass: size)
                let lr = (c.optimizer["lr"] as? NSNumber)?.floatValue ?? 1e-3
                let steps = (c.optimizer["steps"] as? NSNumber)?.intValue ?? 2
                var losses: [Float] = []
                for _ in 0..<steps { losses.append(try t.trainStep(columns: c.columns, learningRate: lr).loss) }
                assertClose(losses, try c.expect("losses_2_steps").values, abs: 1e-4, "\(name) losses_2_steps")
                let weights = Dictionary(uniqueKeysWithValues: t.encoder.namedWeights())
                try compareParameters(c, label: name, prefix: "after_2_steps.") { weights[$0] }
            }
        }
    }

    func testWarmupLinearScheduleMatchesEveryCase() throws {
        for dir in try ModelCase.all() {
            let c = try ModelCase(directory: dir)
            guard let factors = (c.schedule["lr_factor_per_step"] as? [NSNumber])?.map(\.doubleValue),
                  let warmup = (c.schedule["warmup_steps"] as? NSNumber)?.intValue,
                  let total = (c.schedule["total_steps"] as? NSNumber)?.intValue else {
                XCTFail("\(c.name): case.json schedule incomplete"); continue
            }
            let s = WarmupLinear(warmupSteps: warmup, totalSteps: total)
            for (i, f) in factors.enumerated() { XCTAssertEqual(s.factor(step: i), f, accuracy: 1e-12, "\(c.name) step \(i)") }
        }
    }
}
