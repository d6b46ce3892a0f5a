// LayerNorm over the last dimension, fused with the residual add that precedes it in post-LN BERT:
// out = LN(x + residual). The sum is kept (in place in x) for the backward pass, with mean and 1/std per row.

/// x[rows, dim] += residual (when given); out = (x - mean) * rstd * weight + bias. Stores mean and rstd per row.
public func layerNormForward(_ out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                             rstd: UnsafeMutablePointer<Float>, x: UnsafeMutablePointer<Float>,
                             residual: UnsafePointer<Float>?, weight: UnsafePointer<Float>,
                             bias: UnsafePointer<Float>, rows: Int, dim: Int, eps: Float) {
    parallelRanges(rows, minPerPart: 32) { range in
        for r in range {
            let xr = x + r * dim
            if let residual {
                let rr = residual + r * dim
                for i in 0..<dim { xr[i] += rr[i] }
            }
            // Eight-lane partial sums (the scalar reduction does not vectorize).
            let dim8 = dim & ~7
            var sum8 = Float8(repeating: 0)
            var i = 0
            while i < dim8 { sum8 += load8(xr + i); i += 8 }
            var sum = sum8.sum()
            while i < dim { sum += xr[i]; i += 1 }
            let m = sum / Float(dim)
            let m8 = Float8(repeating: m)
            var var8 = Float8(repeating: 0)
            i = 0
            while i < dim8 { let d = load8(xr + i) - m8; var8 += d * d; i += 8 }
            var varSum = var8.sum()
            while i < dim { let d = xr[i] - m; varSum += d * d; i += 1 }
            let s = 1 / (varSum / Float(dim) + eps).squareRoot()
            layerNormRow(out + r * dim, xr, mean: m, rstd: s, weight: weight, bias: bias, dim: dim)
            mean[r] = m
            rstd[r] = s
        }
    }
}

/// `layerNormForward`'s output again from its kept input (residual already added), means and reciprocal
/// deviations: the same arithmetic, so the same bits. Backward uses it instead of keeping every layer's output.
public func layerNormRecompute(_ out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                               rstd: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               rows: Int, dim: Int) {
    parallelRanges(rows, minPerPart: 32) { range in
        for r in range { layerNormRow(out + r * dim, x + r * dim, mean: mean[r], rstd: rstd[r], weight: weight, bias: bias, dim: dim) }
    }
}

@inline(__always)
private func layerNormRow(_ o: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, mean m: Float, rstd s: Float,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, dim: Int) {
    for i in 0..<dim { o[i] = (x[i] - m) * s * weight[i] + bias[i] }
}

/// Backward of `layerNormForward`: dx (overwritten) from dout; dweight and dbias accumulated.
/// dx may alias dout.
public func layerNormBackward(dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                              dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              x: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                              weight: UnsafePointer<Float>, rows: Int, dim: Int) {
    for r in 0..<rows {
        let xr = x + r * dim, dr = dout + r * dim, dxr = dx + r * dim
        let m = mean[r], s = rstd[r]
        var meanDNorm: Float = 0, meanDNormXhat: Float = 0
        for i in 0..<dim {
            let xhat = (xr[i] - m) * s
            let dnorm = weight[i] * dr[i]
            meanDNorm += dnorm
            meanDNormXhat += dnorm * xhat
            dbias[i] += dr[i]
            dweight[i] += dr[i] * xhat
        }
        meanDNorm /= Float(dim)
        meanDNormXhat /= Float(dim)
        for i in 0..<dim {
            let xhat = (xr[i] - m) * s
            dxr[i] = s * (weight[i] * dr[i] - meanDNorm - xhat * meanDNormXhat)
        }
    }
}
