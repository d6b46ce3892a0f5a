// lodestone-bench --attention-only L: attention forward + backward alone (12 heads of 64, ALiBi, one sequence
// of L tokens, the kernels' own thread split) next to cblas_sgemm in the same process. FLOPs counted: the
// matmuls only, 4·L²·d·heads forward (QKᵀ, PV) and 8·L²·d·heads backward (dV, dP, dQ, dK), whatever is
// actually run: the backward pass's recomputation of QKᵀ and the element work are not counted, and neither are
// the tiles that ALiBi makes negligible and the kernels skip (PyTorch's figure uses the same count).
import COpenBLAS
import Foundation
import LodestoneTensor

/// Prints one line: attention fwd+bwd GFLOP/s and cblas_sgemm's at the attention's own matmul shape, measured
/// alternately (one attention step, then sgemm calls of the same FLOPs, best of each) so that both see the same
/// machine load; and, for reference, cblas_sgemm at a large encoder shape (2048 × 3072 × 768).
func runAttentionBench(length L: Int, heads: Int = 12, headDim d: Int = 64) {
    let shape = AttentionShape(heads: heads, headDim: d), H = shape.hidden
    let batch = RaggedBatch(lengths: [L])
    func buffer(_ n: Int, seed: UInt32) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        var s = seed | 1
        for i in 0..<n { s = s &* 1_664_525 &+ 1_013_904_223; p[i] = Float(Int32(bitPattern: s >> 8) % 2001 - 1000) * 1e-3 }
        return p
    }
    let qkv = buffer(L * 3 * H, seed: 1), dout = buffer(L * H, seed: 2), out = buffer(L * H, seed: 3)
    let dqkv = buffer(L * 3 * H, seed: 4), lse = buffer(L * heads, seed: 5)
    let scratch = buffer(attentionScratchCount(batch), seed: 6)
    let slopes = alibiSlopes(heads: heads)
    let a = buffer(L * d, seed: 7), b = buffer(L * d, seed: 8), c = buffer(L * L, seed: 9)
    func step() {
        attentionForward(out, qkv: qkv, logSumExp: lse, scratch: scratch, batch: batch, shape: shape, alibiSlopes: slopes)
        attentionBackward(dqkv: dqkv, dout: dout, qkv: qkv, out: out, logSumExp: lse, scratch: scratch, batch: batch,
                          shape: shape, alibiSlopes: slopes)
    }
    // 6·heads calls of C[L,L] = A[L,d]·B[L,d]ᵀ: the same 12·L²·d·heads FLOPs as one attention step.
    func sgemms() {
        for _ in 0..<(6 * heads) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(L), Int32(L), Int32(d), 1, a, Int32(d), b, Int32(d), 0, c, Int32(L))
        }
    }
    func seconds(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
    let flops = 12 * Double(L) * Double(L) * Double(d) * Double(heads)
    step(); sgemms() // warm-up: page faults
    let runs = max(3, min(20, Int(2e10 / flops)))
    var best = Double.infinity, bestSgemm = Double.infinity
    for _ in 0..<runs {
        best = min(best, seconds(step))
        bestSgemm = min(bestSgemm, seconds(sgemms))
    }
    let large = measureSgemmRate(m: 2048, n: 3072, k: 768)
    print(String(format: "attention L=%d heads=%d head_dim=%d threads=%d seconds=%.4f gflops=%.1f sgemm_gflops=%.1f sgemm_shape=%dx%dx%d sgemm_large_gflops=%.1f tiles=%dx%d kernel=%@",
                 L, heads, d, blasThreads(), best, flops / best / 1e9, flops / bestSgemm / 1e9, L, L, d, large,
                 min(attentionTileOverride?.queries ?? attentionTileQueries, L), min(attentionTileOverride?.keys ?? attentionTileKeys, L),
                 openBLASCoreName()))
}

/// Best of 5 runs of C[m,n] = A[m,k] · B[n,k]ᵀ, in GFLOP/s.
func measureSgemmRate(m: Int, n: Int, k: Int) -> Double {
    let a = [Float](repeating: 0.01, count: m * k), b = [Float](repeating: 0.02, count: n * k)
    var c = [Float](repeating: 0, count: m * n)
    var best = Double.infinity
    for _ in 0..<5 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), 0, &c, Int32(n))
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
}
