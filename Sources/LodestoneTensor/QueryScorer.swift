// Scores of one fixed set of queries against runs of corpus rows, on the calling thread: what corpus search
// computes tile by tile from several threads at once (so the caller runs OpenBLAS on 1 thread meanwhile).
// fp32 is one cblas_sgemm per tile. bf16 packs the queries to bf16 pairs once and each tile's rows per call
// (CBF16GEMM's packing and micro-kernels, fp32 sums): twice fp32's products per instruction, approximate scores
// that search re-ranks in fp32 (see bf16ErrorBound).
import CBF16GEMM
import COpenBLAS

public final class QueryScorer: @unchecked Sendable {
    public let precision: MatmulPrecision
    public let queryCount: Int
    public let dimension: Int
    private let queries: UnsafePointer<Float>
    private let packedQueries: UnsafeMutableRawPointer?

    /// `queries`: row-major [queryCount, dimension], read during every `score` (the caller keeps it alive).
    /// bf16 only where `CPUFeatures.host.hasBF16GEMM`.
    public init(queries: UnsafePointer<Float>, queryCount: Int, dimension: Int, precision: MatmulPrecision) {
        self.queries = queries; self.queryCount = queryCount; self.dimension = dimension; self.precision = precision
        guard precision == .bf16, queryCount > 0 else { packedQueries = nil; return }
        precondition(bf16_gemm_cpu_supported() == 1, "bf16 scoring on a CPU without avx512_bf16 (resolve the precision first)")
        let bytes = bf16_gemm_packed_a_bytes(Int32(queryCount), Int32(dimension))
        let packed = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        let panels = (queryCount + Int(BF16_GEMM_MR) - 1) / Int(BF16_GEMM_MR)
        bf16_gemm_pack_a(queries, Int32(dimension), 0, Int32(queryCount), Int32(dimension), 0, Int32(panels),
                         packed.assumingMemoryBound(to: UInt32.self))
        packedQueries = packed
    }
    deinit { packedQueries?.deallocate() }

    /// scores[q · rows + j] = query q · corpus row j, for the `rows` rows at `corpus` (row-major, `dimension` wide).
    public func score(_ corpus: UnsafePointer<Float>, rows: Int, into scores: UnsafeMutablePointer<Float>) {
        guard rows > 0, queryCount > 0 else { return }
        let n = Int32(rows), m = Int32(queryCount), k = Int32(dimension)
        guard let packedQueries else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, queries, k, corpus, k, 0, scores, n)
            return
        }
        let panels = Int32((rows + Int(BF16_GEMM_NR) - 1) / Int(BF16_GEMM_NR))
        guard let scratch = bf16_gemm_thread_scratch(bf16_gemm_packed_b_bytes(k, n)) else {
            fatalError("bf16 scoring: out of memory for a packed tile of \(rows) rows")
        }
        let packedRows = scratch.assumingMemoryBound(to: UInt32.self)
        bf16_gemm_pack_b(corpus, k, 1, k, n, 0, panels, packedRows)
        let queryPanels = Int32((queryCount + Int(BF16_GEMM_MR) - 1) / Int(BF16_GEMM_MR))
        bf16_gemm_compute(packedQueries.assumingMemoryBound(to: UInt32.self), packedRows, m, n, k, 1, 0, scores, n,
                          0, queryPanels, 0, panels)
    }

    /// A bound on |bf16 score − fp32 score| of a query of norm ≤ 1 and a row, as a fraction of the row's norm:
    /// rounding each operand to bf16 (8 significant bits, to nearest: relative error ≤ u = 2⁻⁸) moves each
    /// product by at most (2u + u²)·|q_i·c_i|, and Σ|q_i·c_i| ≤ ‖q‖‖c‖ (Cauchy–Schwarz); each side's fp32 sum of
    /// `dimension` terms adds at most dimension·2⁻²⁴ of the same; 2⁻²⁰ covers the rest (the scaling by the
    /// row's inverse norm, the query's norm a few ulps over 1, and the denormals VDPBF16PS flushes to zero, for
    /// any row whose norm is far above the denormal range, 1e-38).
    public static func bf16ErrorBound(dimension: Int) -> Float {
        Float(0x1p-7 + 0x1p-16 + 2 * Double(dimension) * 0x1p-24 + 0x1p-20)
    }
}
