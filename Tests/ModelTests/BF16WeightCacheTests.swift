// Packed bf16 weights (BF16WeightCache) and the products that use them: the prepacked path gives the bits of the
// pack-every-call path; a cached copy is reused until invalidated and repacked after; and an encoder's copies
// follow its weights through an optimizer step and a state import. Skipped on a CPU without AVX512_BF16.
import XCTest
@testable import LodestoneCore

final class BF16WeightCacheTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(CPUFeatures.host.hasBF16GEMM, "this CPU lacks avx512_bf16")
    }

    func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(rng.nextDouble() * 2 - 1) }
    }

    /// C = A · op(W) + beta · C with W packed by a cache, and the same product packing W at the call.
    func bothWays(m: Int, n: Int, k: Int, transA: Bool, transB: Bool) -> (cached: [Float], direct: [Float]) {
        let a = values(m * k, seed: 1), w = values(n * k, seed: 2), c0 = values(m * n, seed: 3)
        let lda = transA ? m : k, ldb = transB ? k : n
        var direct = c0, cached = c0
        bf16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a, lda: lda, w, ldb: ldb, beta: 0.5, &direct, ldc: n)
        let cache = BF16WeightCache()
        w.withUnsafeBufferPointer { wp in
            let packed = cache.packed(wp.baseAddress!, transposed: transB, k: k, n: n)
            bf16GEMM(transA: transA, m: m, n: n, k: k, alpha: 1, a, lda: lda, packedB: packed, beta: 0.5, &cached, ldc: n)
        }
        return (cached, direct)
    }

    /// The row split of a prepacked product computes every tile as the column split does: the same bits, on
    /// odd sizes, one thread and two (sizes large enough to split).
    func testPrepackedProductEqualsPackingAtTheCall() {
        let saved = blasThreads()
        defer { setBLASThreads(saved) }
        for threads in [1, 2] {
            setBLASThreads(threads)
            for (m, n, k) in [(1, 1, 1), (7, 33, 7), (769, 7, 385), (13, 769, 769), (769, 100, 769)] {
                for ta in [false, true] { for tb in [false, true] {
                    let (cached, direct) = bothWays(m: m, n: n, k: k, transA: ta, transB: tb)
                    XCTAssertEqual(cached, direct, "m \(m) n \(n) k \(k) transA \(ta) transB \(tb) threads \(threads)")
                } }
            }
        }
    }

    /// Packed once, reused while valid (a changed weight is not seen: proof the copy is used), packed again
    /// after `invalidate()`, and then the product is the new weight's.
    func testCopyIsReusedUntilInvalidatedThenRepacked() {
        let m = 40, n = 48, k = 64
        let a = values(m * k, seed: 4)
        var w = values(n * k, seed: 5)
        let cache = BF16WeightCache()
        func cachedProduct() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            w.withUnsafeBufferPointer { wp in
                let packed = cache.packed(wp.baseAddress!, transposed: true, k: k, n: n)
                bf16GEMM(transA: false, m: m, n: n, k: k, alpha: 1, a, lda: k, packedB: packed, beta: 0, &c, ldc: n)
            }
            return c
        }
        func directProduct() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            bf16GEMM(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a, lda: k, w, ldb: k, beta: 0, &c, ldc: n)
            return c
        }
        let first = cachedProduct()
        XCTAssertEqual(first, directProduct())
        XCTAssertEqual(cache.packCount, 1)
        w.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = -$0[i] * 0.5 } }
        XCTAssertEqual(cachedProduct(), first, "without invalidate() the cached copy is used")
        XCTAssertEqual(cache.packCount, 1)
        cache.invalidate()
        let fresh = cachedProduct()
        XCTAssertEqual(cache.packCount, 2)
        XCTAssertEqual(fresh, directProduct())
        XCTAssertNotEqual(fresh, first)
        _ = cachedProduct()
        XCTAssertEqual(cache.packCount, 2, "one packing per generation")
    }

    let config = EncoderConfig(mosaic: true, hidden: 32, layers: 2, heads: 2, intermediate: 64, vocabSize: 64)
    let rows: [[Int32]] = [[1, 5, 9, 12, 2], [1, 7, 3, 2], [1, 4, 4, 8, 9, 30, 2], [1, 60, 2]]

    /// The embeddings of a bf16 encoder built fresh from `encoder`'s current weights (nothing cached).
    func freshEmbeddings(of encoder: SentenceEncoder) throws -> [[Float]] {
        let fresh = try SentenceEncoder(config: config, weights: Dictionary(uniqueKeysWithValues: encoder.namedWeights()))
        fresh.precision = .bf16
        return try fresh.embed(rows)
    }

    /// After AdamW moves the weights, an embed (evaluation between steps) uses bf16 copies of the new weights:
    /// a stale copy (packed by the step's own forward, before the update) would give other embeddings.
    func testEmbeddingsAfterAnOptimizerStepUseTheUpdatedWeights() throws {
        let encoder = SentenceEncoder(config: config, randomSeed: 3)
        encoder.precision = .bf16
        let before = try encoder.embed(rows)
        let trainer = EncoderTrainer(encoder: encoder)
        try trainer.trainStep(columns: [[rows[0], rows[1]], [rows[2], rows[3]]], learningRate: 1e-2)
        let after = try encoder.embed(rows)
        XCTAssertNotEqual(after, before, "the step must change the embeddings")
        XCTAssertEqual(after, try freshEmbeddings(of: encoder))
    }

    /// importState puts old weights back: the embeddings are those of the old weights again.
    func testImportedStateIsNotServedFromStaleCopies() throws {
        let encoder = SentenceEncoder(config: config, randomSeed: 4)
        encoder.precision = .bf16
        let trainer = EncoderTrainer(encoder: encoder)
        var state = ModelTrainingState()
        trainer.exportState(into: &state)
        let before = try encoder.embed(rows)
        try trainer.trainStep(columns: [[rows[0], rows[1]], [rows[2], rows[3]]], learningRate: 1e-2)
        encoder.parametersChanged()   // (as the step already did) so the copies below are surely of the new weights
        XCTAssertNotEqual(try encoder.embed(rows), before)
        try trainer.importState(state)
        XCTAssertEqual(try encoder.embed(rows), before)
    }

    /// A bf16 trainer plans for the packed copies: 2 forms × 2 bytes of each non-embedding parameter.
    func testMemoryPlanCountsThePackedCopies() {
        let encoder = SentenceEncoder(config: config, randomSeed: 5)
        let trainer = EncoderTrainer(encoder: encoder)
        let batch = RaggedBatch(lengths: [5, 4, 7, 3])
        let fp32 = trainer.memoryPlan(whole: batch, anchors: 2, columns: 2).fixedBytes
        encoder.precision = .bf16
        let bf16 = trainer.memoryPlan(whole: batch, anchors: 2, columns: 2).fixedBytes
        let nonEmbedding = encoder.parameterCount - encoder.layout.embeddingParameterCount
        XCTAssertGreaterThan(nonEmbedding, 0)
        XCTAssertEqual(bf16 - fp32, 4 * nonEmbedding)
    }
}
