// The once-per-process check of the OpenBLAS kernel before a step trusts it: cblas_sgemm in the three
// transpose combinations the encoder uses (Linear.swift), against a plain Double loop.
import COpenBLAS
import LodestoneBase

/// How far cblas_sgemm strayed from the reference.
public struct SgemmCheck: Sendable {
    /// The largest |sgemm − reference| over the tolerance of its entry: ≤ 1 passes.
    public var worst: Double
    public var passed: Bool { worst <= 1 }
}

/// One product C[M,N] = A[M,K]·B[N,K]ᵀ computed three ways: A·Bᵀ (linearForward), (Aᵀ)ᵀ·(Bᵀ) into C already
/// holding D with beta 1 (the weight gradient's accumulation) and A·(Bᵀ) (the input gradient). The sizes are odd,
/// so every micro-kernel's edge cases run, and K exceeds every x86-64 kernel's K block (SGEMM_Q ≤ 384 in
/// OpenBLAS 0.3.21), so partial sums are carried across blocks; M·N·K is above OpenBLAS's threshold for
/// splitting the work across its threads. A correct kernel stays within float rounding, far below the tolerance
/// (1e-5 of Σ|a·b| per entry); a broken one misses by whole products.
public func sgemmSelfCheck(using sgemm: Sgemm = openBLASSgemm) -> SgemmCheck {
    let m = 37, n = 29, k = 517
    var rng = SplitMix64(seed: 20_261_202)
    func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(rng.nextDouble() * 2 - 1) } }
    let a = values(m * k), b = values(n * k), d = values(m * n)
    var at = [Float](repeating: 0, count: k * m), bt = [Float](repeating: 0, count: k * n)
    for i in 0..<m { for p in 0..<k { at[p * m + i] = a[i * k + p] } }
    for j in 0..<n { for p in 0..<k { bt[p * n + j] = b[j * k + p] } }

    var c1 = [Float](repeating: 0, count: m * n), c2 = d, c3 = [Float](repeating: 0, count: m * n)
    sgemm(false, true, m, n, k, a, k, b, k, 0, &c1, n)
    sgemm(true, false, m, n, k, at, m, bt, n, 1, &c2, n)
    sgemm(false, false, m, n, k, a, k, bt, n, 0, &c3, n)

    var worst = 0.0
    func note(_ deviation: Double, _ tolerance: Double) {
        // A NaN (a kernel writing garbage) fails too: comparisons, and so `max`, would pass over it.
        worst = deviation.isNaN ? .infinity : max(worst, deviation / tolerance)
    }
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0, magnitude = 0.0
                    for p in 0..<k {
                        let product = Double(a[i * k + p]) * Double(b[j * k + p])
                        sum += product; magnitude += abs(product)
                    }
                    let tolerance = 1e-5 * magnitude + 1e-6
                    let e = i * n + j
                    note(abs(Double(c1[e]) - sum), tolerance)
                    note(abs(Double(c2[e]) - Double(d[e]) - sum), tolerance)
                    note(abs(Double(c3[e]) - sum), tolerance)
                }
            }
        }
    }
    return SgemmCheck(worst: worst)
}

/// Row-major C[m,n] = op(A)·op(B) + beta·C (alpha 1), op transposing when its flag is set: cblas_sgemm's
/// arguments in Swift's types, so that a test can hand the check a broken one.
public typealias Sgemm = (_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>,
                          _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
                          _ c: UnsafeMutablePointer<Float>, _ ldc: Int) -> Void

/// OpenBLAS's cblas_sgemm as an `Sgemm`.
public func openBLASSgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>,
                          _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
                          _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// OpenBLAS's name of the kernel it runs (`openblas_get_corename`), e.g. Haswell, SkylakeX, Prescott.
public func openBLASCoreName() -> String { String(cString: openblas_get_corename()) }

/// OpenBLAS's build description (`openblas_get_config`): `OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH …`.
public func openBLASConfig() -> String { String(cString: openblas_get_config()) }
