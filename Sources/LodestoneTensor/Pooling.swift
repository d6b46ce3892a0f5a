// Sentence embedding: mean over each sequence's tokens, then L2 normalization (torch F.normalize, eps 1e-12).

/// pooled[s] = mean of x over sequence s; out[s] = pooled / max(‖pooled‖, 1e-12); norms[s] = max(‖pooled‖, 1e-12).
public func meanPoolNormalizeForward(_ out: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>,
                                     x: UnsafePointer<Float>, batch: RaggedBatch, dim: Int) {
    for s in 0..<batch.count {
        let o = out + s * dim
        for i in 0..<dim { o[i] = 0 }
        let L = batch.lengths[s]
        for p in 0..<L {
            let xr = x + (batch.starts[s] + p) * dim
            for i in 0..<dim { o[i] += xr[i] }
        }
        let inv = 1 / Float(max(L, 1))
        var sq: Float = 0
        for i in 0..<dim { o[i] *= inv; sq += o[i] * o[i] }
        let n = max(sq.squareRoot(), 1e-12)
        norms[s] = n
        for i in 0..<dim { o[i] /= n }
    }
}

/// Backward of `meanPoolNormalizeForward`: dx[T, dim] overwritten from dout[S, dim].
public func meanPoolNormalizeBackward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                      out: UnsafePointer<Float>, norms: UnsafePointer<Float>,
                                      batch: RaggedBatch, dim: Int, scratch: UnsafeMutablePointer<Float>) {
    for s in 0..<batch.count {
        let e = out + s * dim, d = dout + s * dim
        var dot: Float = 0
        for i in 0..<dim { dot += e[i] * d[i] }
        let L = batch.lengths[s]
        let k = 1 / (norms[s] * Float(max(L, 1)))
        for i in 0..<dim { scratch[i] = (d[i] - e[i] * dot) * k }
        for p in 0..<L {
            let r = dx + (batch.starts[s] + p) * dim
            for i in 0..<dim { r[i] = scratch[i] }
        }
    }
}
