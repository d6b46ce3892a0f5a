// Dense (fully connected) layer as PyTorch's nn.Linear: out = inp · Wᵀ + b, W stored [outDim, inDim] row-major.
// Forward and backward are single GEMM calls over all real tokens of the batch (unpadded rows), in the precision
// asked for (bf16: inputs rounded to bf16, sums and outputs fp32; the weights stay fp32 masters, their packed
// bf16 copies come from `packedWeights` when one is given).
import COpenBLAS

/// C = alpha · op(A) · op(W) + beta · C where W is a weight: from its cached packed copy when the precision is
/// bf16 and there is a cache, else as any product. op(W) is Wᵀ (`transB`, W [n, k]) or W ([k, n]).
@inline(__always)
func weightGEMM(_ precision: MatmulPrecision, _ cache: BF16WeightCache?, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                _ a: UnsafePointer<Float>, lda: Int, _ w: UnsafePointer<Float>, beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    if precision == .bf16, k > 0, let cache {
        let packed = cache.packed(w, transposed: transB, k: k, n: n)
        bf16GEMM(transA: transA, m: m, n: n, k: k, alpha: 1, a, lda: lda, packedB: packed, beta: beta, c, ldc: ldc)
        return
    }
    gemm(precision, transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a, lda: lda, w, ldb: transB ? k : n,
         beta: beta, c, ldc: ldc)
}

/// out[rows, outDim] = inp[rows, inDim] · weight[outDim, inDim]ᵀ (+ bias).
public func linearForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          rows: Int, inDim: Int, outDim: Int, precision: MatmulPrecision = .fp32,
                          packedWeights: BF16WeightCache? = nil) {
    guard rows > 0 else { return }
    // With a bias, start C at the bias rows and accumulate (beta 1): this replaces OpenBLAS's zeroing pass
    // (beta 0) and a separate bias pass over the output.
    if let bias {
        for r in 0..<rows { (out + r * outDim).update(from: bias, count: outDim) }
    }
    weightGEMM(precision, packedWeights, transA: false, transB: true, m: rows, n: outDim, k: inDim, inp, lda: inDim, weight,
               beta: bias == nil ? 0 : 1, out, ldc: outDim)
}

/// Backward of `linearForward`. dinp is overwritten (accumulateInput false) or added to (true);
/// dweight and dbias are always accumulated, as parameter gradients sum over the batch.
public func linearBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                           dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                           inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           rows: Int, inDim: Int, outDim: Int, accumulateInput: Bool = false,
                           precision: MatmulPrecision = .fp32, packedWeights: BF16WeightCache? = nil) {
    guard rows > 0 else { return }
    if let dinp {
        weightGEMM(precision, packedWeights, transA: false, transB: false, m: rows, n: inDim, k: outDim, dout, lda: outDim, weight,
                   beta: accumulateInput ? 1 : 0, dinp, ldc: inDim)
    }
    gemm(precision, transA: true, transB: false, m: outDim, n: inDim, k: rows, alpha: 1, dout, lda: outDim, inp, ldb: inDim,
         beta: 1, dweight, ldc: inDim)
    if let dbias {
        for r in 0..<rows {
            let d = dout + r * outDim
            for c in 0..<outDim { dbias[c] += d[c] }
        }
    }
}

/// Sets the number of OpenBLAS threads (the process-wide pool used by every sgemm).
public func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(n)); computeThreads = max(1, n) }

/// Number of OpenBLAS threads currently configured.
public func blasThreads() -> Int { Int(openblas_get_num_threads()) }
