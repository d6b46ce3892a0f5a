// Optimizer kernels over the flat parameter buffer: global L2 norm, scaling, and one AdamW update of a range.
import Foundation

/// √(Σ g²), accumulated in Double.
public func globalNorm(_ g: UnsafePointer<Float>, count: Int) -> Float {
    var partials = [Double](repeating: 0, count: max(computeThreads, 1))
    partials.withUnsafeMutableBufferPointer { part in
        let parts = part.count
        parallelRanges(parts, minPerPart: 1) { pr in
            for p in pr {
                // Accumulate blocks in Float (vectorizes), fold into Double to keep precision over 10⁸ values.
                var i = count * p / parts, s0: Double = 0
                let stop = count * (p + 1) / parts
                while i < stop {
                    let end = min(i + 4096, stop)
                    var s: Float = 0
                    for j in i..<end { s += g[j] * g[j] }
                    s0 += Double(s)
                    i = end
                }
                part[p] = s0
            }
        }
    }
    return Float(partials.reduce(0, +).squareRoot())
}

/// x[n] *= factor.
public func scaleInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
    parallelRanges(count, minPerPart: 1 << 16) { r in for i in r { x[i] *= factor } }
}

/// One torch.optim.AdamW step on a contiguous range: decoupled decay p ← p(1 − lr·wd), then the
/// bias-corrected Adam update with eps added to √v̂.
public func adamWUpdate(params p: UnsafeMutablePointer<Float>, grads g: UnsafePointer<Float>,
                        m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                        lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float, step: Int) {
    let bc1 = 1 - pow(Double(beta1), Double(step))
    let bc2 = 1 - pow(Double(beta2), Double(step))
    let stepSize = Float(Double(lr) / bc1)
    let invSqrtBc2 = Float(1 / bc2.squareRoot())
    let decay = 1 - lr * weightDecay
    parallelRanges(count, minPerPart: 1 << 16) { r in
        for i in r {
            let gi = g[i]
            let mi = beta1 * m[i] + (1 - beta1) * gi
            let vi = beta2 * v[i] + (1 - beta2) * gi * gi
            m[i] = mi
            v[i] = vi
            p[i] = p[i] * decay - stepSize * mi / (vi.squareRoot() * invSqrtBc2 + eps)
        }
    }
}
