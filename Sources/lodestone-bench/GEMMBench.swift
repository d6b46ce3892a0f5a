// --gemm-only: GFLOP/s of cblas_sgemm and of the bf16 kernel side by side, on the encoder's products at a given
// token count (forward x·Wᵀ, backward dY·W and dYᵀ·x, for hidden → hidden, hidden → inner and inner → hidden).
import Foundation
import LodestoneTensor

/// GFLOP/s of C[m,n] = op(A)·op(B) in `precision`, best of five after one untimed call.
func measureGEMMRate(_ precision: MatmulPrecision, m: Int, n: Int, k: Int, transA: Bool, transB: Bool) -> Double {
    let a = (0..<(m * k)).map { Float($0 % 29) * 0.01 - 0.1 }, b = (0..<(n * k)).map { Float($0 % 31) * 0.01 - 0.15 }
    var c = [Float](repeating: 0, count: m * n)
    let lda = transA ? m : k, ldb = transB ? k : n
    var best = Double.infinity
    for round in 0..<6 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        gemm(precision, transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a, lda: lda, b, ldb: ldb, beta: 0, &c, ldc: n)
        if round > 0 { best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
    }
    return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
}

/// One line per shape: both rates and their ratio, named by CPU and kernel.
func runGEMMBench(tokens t: Int, hidden h: Int, inner i: Int, machine: String) {
    let shapes: [(String, Int, Int, Int, Bool, Bool)] = [
        ("x·Wᵀ  \(t)×\(h)·\(h)×\(h)", t, h, h, false, true), ("x·Wᵀ  \(t)×\(h)·\(h)×\(i)", t, i, h, false, true),
        ("x·Wᵀ  \(t)×\(i)·\(i)×\(h)", t, h, i, false, true), ("dY·W  \(t)×\(i)·\(i)×\(h)", t, h, i, false, false),
        ("dYᵀ·x \(i)×\(t)·\(t)×\(h)", i, h, t, true, false),
    ]
    for (name, m, n, k, ta, tb) in shapes {
        let fp32 = measureGEMMRate(.fp32, m: m, n: n, k: k, transA: ta, transB: tb)
        let bf16 = measureGEMMRate(.bf16, m: m, n: n, k: k, transA: ta, transB: tb)
        print(String(format: "gemm %@: fp32 (cblas_sgemm) %.1f GFLOP/s, bf16 %.1f GFLOP/s, %.2fx [%@]",
                     name, fp32, bf16, bf16 / fp32, machine))
    }
}
