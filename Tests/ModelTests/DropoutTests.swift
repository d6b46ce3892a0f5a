// Dropout: the kernels' statistics (fraction dropped, expectation, bits) with bounds of 6 standard deviations
// on deterministic streams, finite-difference checks with fixed masks, p = 0 bitwise equal to no dropout,
// and inference untouched by training with dropout. (The whole encoder's finite-difference checks with dropout
// are in EncoderGradientTests.)
import Foundation
import XCTest
@testable import LodestoneCore

final class DropoutKernelTests: XCTestCase {
    /// |observed − expected| ≤ 6σ for a binomial count of `n` trials at probability `p`.
    func assertBinomial(_ count: Int, trials n: Int, p: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let sigma = (Double(n) * p * (1 - p)).squareRoot()
        XCTAssertLessThanOrEqual(abs(Double(count) - Double(n) * p), 6 * sigma + 1e-9,
                                 "\(what): \(count) of \(n), expected \(Double(n) * p) ± 6·\(sigma)", file: file, line: line)
    }

    func testFractionDroppedExpectationAndMaskBits() {
        let n = (1 << 20) + 37 // not a multiple of 64: the last word is partial
        for (p, key) in [(Float(0.1), UInt64(1)), (0.5, 2), (0.9, 3), (0.1, 4)] {
            let rate = DropoutRate(p)
            var x = [Float](repeating: 1, count: n)
            var mask = [UInt64](repeating: 0, count: dropoutMaskWords(n))
            dropoutForward(&x, mask: &mask, count: n, rate: rate, key: key)
            // Every element is 0 or exactly the scale, and its mask bit says which.
            var kept = 0, wrong = 0, sum = 0.0
            var keptByBit = [Int](repeating: 0, count: 64)
            for i in 0..<n {
                let bit = (mask[i / 64] >> UInt64(i % 64)) & 1 == 1
                if x[i] != (bit ? rate.scale : 0) { wrong += 1 }
                if bit { kept += 1; keptByBit[i % 64] += 1 }
                sum += Double(x[i])
            }
            XCTAssertEqual(wrong, 0, "elements that are neither 0 nor the scale their mask bit says")
            XCTAssertEqual(mask.last! >> UInt64(n % 64), 0, "no bits past the end")
            XCTAssertEqual(rate.scale, 1 / (1 - p))
            assertBinomial(kept, trials: n, p: Double(1 - p), "kept at p \(p)")
            // The mean of the outputs is kept · scale / n: its expectation is the input, 1.
            XCTAssertEqual(sum / Double(n), Double(kept) * Double(rate.scale) / Double(n), accuracy: 1e-9)
            let sigmaMean = (Double(p) / Double(1 - p) / Double(n)).squareRoot()
            XCTAssertEqual(sum / Double(n), 1, accuracy: 6 * sigmaMean, "expectation at p \(p)")
            // Every bit position of a word (both halves of each 64-bit draw) drops at the same rate.
            for b in 0..<64 { assertBinomial(keptByBit[b], trials: (n - b + 63) / 64, p: Double(1 - p), "bit \(b) at p \(p)") }
        }
    }

    func testStreamsAreIndependentAndReproducible() {
        let n = 1 << 18, rate = DropoutRate(0.5)
        func mask(_ key: UInt64) -> [UInt64] {
            var x = [Float](repeating: 1, count: n), m = [UInt64](repeating: 0, count: dropoutMaskWords(n))
            dropoutForward(&x, mask: &m, count: n, rate: rate, key: key)
            return m
        }
        XCTAssertEqual(mask(dropoutKey(seed: 7, 3, 1)), mask(dropoutKey(seed: 7, 3, 1)), "same key, same mask")
        // Two different sites (and two different seeds) agree on an element with probability ½ when independent.
        for (a, b) in [(dropoutKey(seed: 7, 3, 1), dropoutKey(seed: 7, 3, 2)), (dropoutKey(seed: 7, 3, 1), dropoutKey(seed: 8, 3, 1)),
                       (dropoutKey(seed: 7, 0, 1), dropoutKey(seed: 7, 1, 0))] {
            let agree = zip(mask(a), mask(b)).map { 64 - ($0 ^ $1).nonzeroBitCount }.reduce(0, +)
            assertBinomial(agree, trials: n, p: 0.5, "agreement of keys \(a), \(b)")
        }
    }

    func testZeroProbabilityIsTheIdentity() {
        let x0 = randomFloats(1000, seed: 3)
        var x = x0, mask = [UInt64](repeating: 0, count: dropoutMaskWords(1000))
        dropoutForward(&x, mask: &mask, count: 1000, rate: DropoutRate(0), key: 9)
        XCTAssertEqual(x, x0)
        var y = x0
        dropoutInPlace(&y, count: 1000, rate: DropoutRate(0), key: 9, start: 3)
        XCTAssertEqual(y, x0)
    }

    /// The regenerated stream (attention) draws what the stored-mask kernel draws, from any start, odd or even.
    func testRegeneratedDrawsMatchTheMaskKernel() {
        let n = 301, rate = DropoutRate(0.4), key: UInt64 = 0xABCDEF
        var x = randomFloats(n, seed: 5), mask = [UInt64](repeating: 0, count: dropoutMaskWords(n))
        let x0 = x
        dropoutForward(&x, mask: &mask, count: n, rate: rate, key: key)
        for start in [0, 1, 2, 63, 64, 65, 150] {
            var y = Array(x0[start...])
            dropoutInPlace(&y, count: y.count, rate: rate, key: key, start: start)
            XCTAssertEqual(y, Array(x[start...]), "from \(start)")
        }
        for i in 0..<n { XCTAssertEqual(dropoutDraw(key: key, index: i) >= rate.threshold, (mask[i / 64] >> UInt64(i % 64)) & 1 == 1) }
    }

    func testDropoutBackwardReusesTheMask() {
        let n = 200, rate = DropoutRate(0.3), key: UInt64 = 17
        var x = randomFloats(n, seed: 6)
        let r = randomFloats(n, seed: 7)
        var mask = [UInt64](repeating: 0, count: dropoutMaskWords(n))
        func run(_ v: [Float]) -> [Float] {
            var out = v, m = [UInt64](repeating: 0, count: dropoutMaskWords(n))
            dropoutForward(&out, mask: &m, count: n, rate: rate, key: key)
            return out
        }
        var out = x
        dropoutForward(&out, mask: &mask, count: n, rate: rate, key: key)
        var dx = r
        dx.withUnsafeMutableBufferPointer {   // in place, as the encoder runs it
            dropoutBackward(dx: $0.baseAddress!, dout: $0.baseAddress!, mask: mask, count: n, rate: rate)
        }
        checkGradient("dropout dx", values: &x, analytic: dx, eps: 1e-2, samples: n) { weightedSum(run($0), r) }
        XCTAssertTrue(dx.contains(0) && dx.contains { $0 != 0 })
    }

    // MARK: attention probabilities

    /// Q = K = 0 (uniform probabilities 1/L) and V = identity per head: the output rows are the dropped
    /// probability matrices themselves.
    func testAttentionDropoutFractionAndScale() {
        let L = 8, heads = 2, sequences = 500, p: Float = 0.25
        let shape = AttentionShape(heads: heads, headDim: L), H = heads * L
        let batch = RaggedBatch(lengths: [Int](repeating: L, count: sequences))
        var qkv = [Float](repeating: 0, count: batch.tokenCount * 3 * H)
        for t in 0..<batch.tokenCount { for h in 0..<heads { qkv[t * 3 * H + 2 * H + h * L + t % L] = 1 } }
        var out = [Float](repeating: 0, count: batch.tokenCount * H)
        var scratch = [Float](repeating: 0, count: attentionScratchCount(batch))
        let dropout = AttentionDropout(rate: DropoutRate(p), key: 99)
        attentionForward(&out, qkv: qkv, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: nil, dropout: dropout)
        let keptValue = Float(1) / Float(L) * dropout.rate.scale
        var kept = 0
        for v in out {
            if v != 0 { XCTAssertEqual(v, keptValue, accuracy: 1e-6); kept += 1 }
        }
        assertBinomial(kept, trials: out.count, p: Double(1 - p), "attention probabilities kept")
        // Without dropout the same probe gives the probabilities themselves.
        attentionForward(&out, qkv: qkv, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: nil)
        XCTAssertTrue(out.allSatisfy { abs($0 - 1 / Float(L)) < 1e-6 })
    }

    func attentionCheck(slopes: [Float]?, rate: Float) {
        let shape = AttentionShape(heads: 3, headDim: 2), H = 6
        let batch = RaggedBatch(lengths: [3, 5, 1, 4])
        var qkv = randomFloats(batch.tokenCount * 3 * H, seed: 13, scale: 1.5)
        let r = randomFloats(batch.tokenCount * H, seed: 14)
        let dropout = AttentionDropout(rate: DropoutRate(rate), key: 1234)
        var scratch = [Float](repeating: .nan, count: attentionScratchCount(batch))
        func run(_ qkv: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: batch.tokenCount * H)
            attentionForward(&out, qkv: qkv, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: slopes, dropout: dropout)
            return out
        }
        var dqkv = [Float](repeating: 0, count: qkv.count)
        var out = [Float](repeating: 0, count: batch.tokenCount * H), lse = [Float](repeating: 0, count: batch.tokenCount * 3)
        attentionForward(&out, qkv: qkv, logSumExp: &lse, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: slopes, dropout: dropout)
        attentionBackward(dqkv: &dqkv, dout: r, qkv: qkv, out: out, logSumExp: lse, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: slopes, dropout: dropout)
        checkGradient("attention dqkv with dropout \(rate) (alibi \(slopes != nil))", values: &qkv, analytic: dqkv, eps: 1e-3, samples: 300) {
            weightedSum(run($0), r)
        }
        // Dropout changed the output (the mask is not empty at this size).
        var plain = [Float](repeating: 0, count: batch.tokenCount * H)
        attentionForward(&plain, qkv: qkv, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: slopes)
        XCTAssertNotEqual(plain, run(qkv))
    }

    func testAttentionBackwardWithDropoutMatchesFiniteDifferences() {
        attentionCheck(slopes: nil, rate: 0.3)
        attentionCheck(slopes: alibiSlopes(heads: 3), rate: 0.5)
    }

    func testAttentionWithZeroDropoutIsBitwiseTheSame() {
        let shape = AttentionShape(heads: 3, headDim: 2), H = 6
        let batch = RaggedBatch(lengths: [3, 5, 1])
        let qkv = randomFloats(batch.tokenCount * 3 * H, seed: 21), r = randomFloats(batch.tokenCount * H, seed: 22)
        var scratch = [Float](repeating: 0, count: attentionScratchCount(batch))
        func both(_ dropout: AttentionDropout?) -> ([Float], [Float]) {
            var out = [Float](repeating: 0, count: batch.tokenCount * H), d = [Float](repeating: 0, count: qkv.count)
            var lse = [Float](repeating: 0, count: batch.tokenCount * 3)
            attentionForward(&out, qkv: qkv, logSumExp: &lse, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: alibiSlopes(heads: 3), dropout: dropout)
            attentionBackward(dqkv: &d, dout: r, qkv: qkv, out: out, logSumExp: lse, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: alibiSlopes(heads: 3), dropout: dropout)
            return (out, d)
        }
        let none = both(nil), zero = both(AttentionDropout(rate: DropoutRate(0), key: 5))
        XCTAssertEqual(none.0, zero.0)
        XCTAssertEqual(none.1, zero.1)
    }
}

final class EncoderDropoutTests: XCTestCase {
    let columns: [[[Int32]]] = [[[1, 5, 9, 2], [1, 7, 2]], [[1, 3, 3, 8, 2], [1, 6, 2]], [[1, 4, 2], [1, 9, 9, 9, 5, 2]]]

    func config(mosaic: Bool, hidden: Double = 0, attention: Double = 0) -> EncoderConfig {
        var raw = EncoderConfig(mosaic: mosaic, hidden: 6, layers: 2, heads: 3, intermediate: 5, vocabSize: 12,
                                maxPositionEmbeddings: 8, alibiStartingSize: 2, initializerRange: 0.5).raw
        raw["hidden_dropout_prob"] = hidden
        raw["attention_probs_dropout_prob"] = attention
        return try! EncoderConfig(json: raw)
    }

    /// Loss, norm, every gradient, and the parameters and moments after two steps.
    func outcome(_ t: EncoderTrainer, seed: UInt64 = 5) throws -> (LodestoneModel.StepResult, [Float], ModelTrainingState) {
        let r = try t.computeGradients(columns: columns, dropoutSeed: seed)
        let g = Array(UnsafeBufferPointer(start: t.gradients, count: t.parameterCount))
        try t.trainStep(columns: columns, learningRate: 1e-2, dropoutSeed: seed)
        try t.trainStep(columns: columns, learningRate: 1e-2, dropoutSeed: seed + 1)
        return (r, g, t.trainingState())
    }

    /// p = 0 — given as rates, or read from a config.json saying 0 — is bitwise today's arithmetic (`.none`).
    func testZeroDropoutIsBitwiseNoDropout() throws {
        for mosaic in [true, false] {
            let cfg = config(mosaic: mosaic)
            let none = try outcome(EncoderTrainer(encoder: SentenceEncoder(config: cfg, randomSeed: 3)))
            let zero = try outcome(EncoderTrainer(encoder: SentenceEncoder(config: cfg, randomSeed: 3), dropout: DropoutRates(hidden: 0, attention: 0)))
            let fromConfig = try outcome(EncoderTrainer(encoder: SentenceEncoder(config: cfg, randomSeed: 3), dropout: DropoutRates(config: cfg)))
            for other in [zero, fromConfig] {
                XCTAssertEqual(other.0, none.0); XCTAssertEqual(other.1, none.1); XCTAssertEqual(other.2, none.2)
            }
        }
    }

    /// The trainer built from an encoder alone never drops, whatever its config.json says: the conformance
    /// cases (made without dropout) run this way.
    func testEncoderTrainerDropsOnlyWhenTold() throws {
        let cfg = config(mosaic: false, hidden: 0.1, attention: 0.1)
        XCTAssertEqual(DropoutRates(config: cfg), DropoutRates(hidden: 0.1, attention: 0.1))
        let plain = EncoderTrainer(encoder: SentenceEncoder(config: cfg, randomSeed: 3))
        XCTAssertEqual(plain.dropout, .none)
        let reference = EncoderTrainer(encoder: SentenceEncoder(config: config(mosaic: false), randomSeed: 3))
        XCTAssertEqual(try outcome(plain).0, try outcome(reference).0)
        // Hugging Face's default when the fields are absent.
        var raw = cfg.raw; raw["hidden_dropout_prob"] = nil; raw["attention_probs_dropout_prob"] = nil
        XCTAssertEqual(DropoutRates(config: try EncoderConfig(json: raw)), DropoutRates(hidden: 0.1, attention: 0.1))
    }

    func testDropoutIsReproducibleFromTheSeedAndChangesWithIt() throws {
        for mosaic in [true, false] {
            let cfg = config(mosaic: mosaic)
            func run(_ rates: DropoutRates, seed: UInt64) throws -> (LodestoneModel.StepResult, [Float], ModelTrainingState) {
                try outcome(EncoderTrainer(encoder: SentenceEncoder(config: cfg, randomSeed: 3), dropout: rates), seed: seed)
            }
            let rates = DropoutRates(hidden: 0.3, attention: 0.2)
            let a = try run(rates, seed: 11), b = try run(rates, seed: 11), c = try run(rates, seed: 12)
            let off = try run(.none, seed: 11)
            XCTAssertEqual(a.0, b.0); XCTAssertEqual(a.1, b.1); XCTAssertEqual(a.2, b.2)
            XCTAssertNotEqual(a.0.loss, c.0.loss, "another seed, other masks")
            XCTAssertNotEqual(a.0.loss, off.0.loss, "dropout changes the step")
            // Each kind on its own changes the step too.
            XCTAssertNotEqual(try run(DropoutRates(hidden: 0.3, attention: 0), seed: 11).0.loss, off.0.loss)
            XCTAssertNotEqual(try run(DropoutRates(hidden: 0, attention: 0.3), seed: 11).0.loss, off.0.loss)
        }
    }

    /// Training with dropout leaves inference alone: embed gives the bits it gave before the step.
    func testInferenceNeverDrops() throws {
        let enc = SentenceEncoder(config: config(mosaic: true, hidden: 0.5, attention: 0.5), randomSeed: 3)
        let before = try enc.embed(columns[0])
        let t = EncoderTrainer(encoder: enc, dropout: DropoutRates(hidden: 0.5, attention: 0.5))
        _ = try t.computeGradients(columns: columns, dropoutSeed: 1)   // parameters unchanged, buffers dirtied
        XCTAssertEqual(try enc.embed(columns[0]), before)
        XCTAssertEqual(try enc.embed(columns[0]), try enc.embed(columns[0]))
    }
}
