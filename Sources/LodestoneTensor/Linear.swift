// Dense (fully connected) layer as PyTorch's nn.Linear: out = inp · Wᵀ + b, W stored [outDim, inDim] row-major.
// Forward and backward are single cblas_sgemm calls over all real tokens of the batch (unpadded rows).
import COpenBLAS

/// out[rows, outDim] = inp[rows, inDim] · weight[outDim, inDim]ᵀ (+ bias).
public func linearForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          rows: Int, inDim: Int, outDim: Int) {
    guard rows > 0 else { return }
    // With a bias, start C at the bias rows and accumulate (beta 1): this replaces OpenBLAS's zeroing pass
    // (beta 0) and a separate bias pass over the output.
    if let bias {
        for r in 0..<rows { (out + r * outDim).update(from: bias, count: outDim) }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outDim), Int32(inDim),
                1, inp, Int32(inDim), weight, Int32(inDim), bias == nil ? 0 : 1, out, Int32(outDim))
}

/// Backward of `linearForward`. dinp is overwritten (accumulateInput false) or added to (true);
/// dweight and dbias are always accumulated, as parameter gradients sum over the batch.
public func linearBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                           dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                           inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           rows: Int, inDim: Int, outDim: Int, accumulateInput: Bool = false) {
    guard rows > 0 else { return }
    if let dinp {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(inDim), Int32(outDim),
                    1, dout, Int32(outDim), weight, Int32(inDim), accumulateInput ? 1 : 0, dinp, Int32(inDim))
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(outDim), Int32(inDim), Int32(rows),
                1, dout, Int32(outDim), inp, Int32(inDim), 1, dweight, Int32(inDim))
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
