// Dense (fully connected) layer as PyTorch's nn.Linear: out = inp · Wᵀ + b, W stored [outDim, inDim] row-major.
// Forward and backward are single GEMM calls over all real tokens of the batch (unpadded rows), in the precision
// asked for (bf16: inputs rounded to bf16, sums and outputs fp32; the weights stay fp32 masters).
import COpenBLAS

/// out[rows, outDim] = inp[rows, inDim] · weight[outDim, inDim]ᵀ (+ bias).
public func linearForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          rows: Int, inDim: Int, outDim: Int, precision: MatmulPrecision = .fp32) {
    guard rows > 0 else { return }
    // With a bias, start C at the bias rows and accumulate (beta 1): this replaces OpenBLAS's zeroing pass
    // (beta 0) and a separate bias pass over the output.
    if let bias {
        for r in 0..<rows { (out + r * outDim).update(from: bias, count: outDim) }
    }
    gemm(precision, transA: false, transB: true, m: rows, n: outDim, k: inDim, alpha: 1, inp, lda: inDim, weight, ldb: inDim,
         beta: bias == nil ? 0 : 1, out, ldc: outDim)
}

/// Backward of `linearForward`. dinp is overwritten (accumulateInput false) or added to (true);
/// dweight and dbias are always accumulated, as parameter gradients sum over the batch.
public func linearBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                           dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                           inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           rows: Int, inDim: Int, outDim: Int, accumulateInput: Bool = false,
                           precision: MatmulPrecision = .fp32) {
    guard rows > 0 else { return }
    if let dinp {
        gemm(precision, transA: false, transB: false, m: rows, n: inDim, k: outDim, alpha: 1, dout, lda: outDim, weight, ldb: inDim,
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
