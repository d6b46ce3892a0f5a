// One entry for every matrix product of the encoder: C = alpha · op(A) · op(B) + beta · C, row-major, in the
// precision asked for. fp32 goes to cblas_sgemm unchanged; bf16 packs both operands to bf16 pairs and runs the
// CBF16GEMM micro-kernels, split over the OpenBLAS thread count (1 inside attention's per-head threads, as there).
// A weight's packed copy can come from a BF16WeightCache instead (`bf16GEMM(…, packedB:)`): then only A is packed.
import CBF16GEMM
import COpenBLAS
import Dispatch
import Foundation

/// C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C, op transposing when `transA`/`transB`.
@inline(__always)
public func gemm(_ precision: MatmulPrecision, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                 _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, beta: Float,
                 _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    if precision == .bf16, k > 0 {
        bf16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc)
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Threads for a bf16 product split into `parts` panels: only where it is large enough to pay for them
/// (2 · m·n·k flops ≳ 4 MFLOP per thread).
func bf16Threads(m: Int, n: Int, k: Int, parts: Int) -> Int {
    max(1, min(Int(openblas_get_num_threads()), parts, m * n * k / (1 << 21)))
}

/// Part `part` of `count` panels split evenly over `threads`.
func panelRange(_ count: Int, part: Int, threads: Int) -> (Int32, Int32) {
    (Int32(count * part / threads), Int32(count * (part + 1) / threads))
}

/// The bf16 product: pack A and B (in parallel parts), then the column panels of C in parallel parts.
/// Only called after `PrecisionRequest.resolve` allowed bf16 (the kernel needs AVX512_BF16).
public func bf16GEMM(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, beta: Float,
                     _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    let mr = Int(BF16_GEMM_MR), nr = Int(BF16_GEMM_NR)
    let aPanels = (m + mr - 1) / mr, bPanels = (n + nr - 1) / nr
    let aBytes = (bf16_gemm_packed_a_bytes(Int32(m), Int32(k)) + 63) & ~63
    let bBytes = bf16_gemm_packed_b_bytes(Int32(k), Int32(n))
    guard let scratch = bf16_gemm_thread_scratch(aBytes + bBytes) else {
        fatalError("bf16 GEMM: out of memory for \(aBytes + bBytes) bytes of packed operands")
    }
    let packedA = scratch.assumingMemoryBound(to: UInt32.self)
    let packedB = (scratch + aBytes).assumingMemoryBound(to: UInt32.self)
    let threads = bf16Threads(m: m, n: n, k: k, parts: bPanels)
    let ta: Int32 = transA ? 1 : 0, tb: Int32 = transB ? 1 : 0
    let M = Int32(m), N = Int32(n), K = Int32(k)
    let pack: (Int) -> Void = { part in
        let (a0, a1) = panelRange(aPanels, part: part, threads: threads), (b0, b1) = panelRange(bPanels, part: part, threads: threads)
        bf16_gemm_pack_a(a, Int32(lda), ta, M, K, a0, a1, packedA)
        bf16_gemm_pack_b(b, Int32(ldb), tb, K, N, b0, b1, packedB)
    }
    // Every part needs all of packed A: a barrier between packing and computing.
    let compute: (Int) -> Void = { part in
        let (b0, b1) = panelRange(bPanels, part: part, threads: threads)
        bf16_gemm_compute(packedA, packedB, M, N, K, alpha, beta, c, Int32(ldc), 0, Int32(aPanels), b0, b1)
    }
    if threads == 1 { pack(0); compute(0); return }
    DispatchQueue.concurrentPerform(iterations: threads, execute: pack)
    DispatchQueue.concurrentPerform(iterations: threads, execute: compute)
}

/// The bf16 product with op(B) already packed (`bf16_gemm_pack_b` of all its panels for this k and n, e.g. a
/// weight from a BF16WeightCache). C splits by rows: each part packs its own A panels and computes them, so
/// the parts never wait on each other (one fork and join per product).
public func bf16GEMM(transA: Bool, m: Int, n: Int, k: Int, alpha: Float, _ a: UnsafePointer<Float>, lda: Int,
                     packedB: UnsafePointer<UInt32>, beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    let mr = Int(BF16_GEMM_MR), nr = Int(BF16_GEMM_NR)
    let aPanels = (m + mr - 1) / mr, bPanels = Int32((n + nr - 1) / nr)
    let aBytes = bf16_gemm_packed_a_bytes(Int32(m), Int32(k))
    guard let scratch = bf16_gemm_thread_scratch(aBytes) else {
        fatalError("bf16 GEMM: out of memory for \(aBytes) bytes of packed operands")
    }
    let packedA = scratch.assumingMemoryBound(to: UInt32.self)
    let threads = bf16Threads(m: m, n: n, k: k, parts: aPanels)
    let ta: Int32 = transA ? 1 : 0, M = Int32(m), N = Int32(n), K = Int32(k)
    let rows: (Int) -> Void = { part in
        let (a0, a1) = panelRange(aPanels, part: part, threads: threads)
        bf16_gemm_pack_a(a, Int32(lda), ta, M, K, a0, a1, packedA)
        bf16_gemm_compute(packedA, packedB, M, N, K, alpha, beta, c, Int32(ldc), a0, a1, 0, bPanels)
    }
    if threads == 1 { rows(0); return }
    DispatchQueue.concurrentPerform(iterations: threads, execute: rows)
}

/// Whether bf16 GEMMs beat cblas_sgemm on this machine at an encoder shape (512 tokens × 768 → 768, the
/// smaller of the encoder's products): best of three timings each, a few milliseconds in all.
/// Only called where the CPU has the kernel's instructions.
public func bf16GEMMIsFaster(m: Int = 512, n: Int = 768, k: Int = 768) -> Bool {
    let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k), b = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    defer { a.deallocate(); b.deallocate(); c.deallocate() }
    for i in 0..<(m * k) { a[i] = Float(i % 17) * 0.01 }
    for i in 0..<(n * k) { b[i] = Float(i % 13) * 0.01 }
    func best(_ precision: MatmulPrecision) -> UInt64 {
        (0..<3).map { _ in
            let t0 = DispatchTime.now().uptimeNanoseconds
            gemm(precision, transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a, lda: k, b, ldb: k, beta: 0, c, ldc: n)
            return DispatchTime.now().uptimeNanoseconds - t0
        }.min()!
    }
    return best(.bf16) < best(.fp32)
}
