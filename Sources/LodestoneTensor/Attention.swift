// Multi-head self-attention over unpadded sequences, one cblas_sgemm per (sequence, head) for QKᵀ and PV.
// qkv rows hold [Q | K | V], each [heads · headDim] (MosaicBERT's fused Wqkv layout, and BERT's
// query/key/value weights stored back to back). Padding needs no mask: padded keys are never present.
// ALiBi (MosaicBERT) adds -slope_h · |i - j| to the scores, computed on the fly for any length, which is
// what upstream's alibi tensor holds after it is rebuilt for sequences longer than alibi_starting_size.
import COpenBLAS
import Foundation

/// ALiBi slopes as upstream mosaic-bert: geometric for a power of two; otherwise the closest lower
/// power of two's slopes followed by every other slope of the next power of two.
public func alibiSlopes(heads: Int) -> [Float] {
    func powerOfTwo(_ n: Int) -> [Double] {
        let start = pow(2.0, -pow(2.0, -(log2(Double(n)) - 3)))
        return (0..<n).map { start * pow(start, Double($0)) }
    }
    func slopes(_ n: Int) -> [Double] {
        let l = log2(Double(n))
        if l == l.rounded() { return powerOfTwo(n) }
        let closest = 1 << Int(l.rounded(.down))
        let a = powerOfTwo(closest)
        let b = slopes(2 * closest).enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        return a + b.prefix(n - closest)
    }
    return slopes(heads).map { Float($0) }
}

/// Shape of one attention call.
public struct AttentionShape: Sendable {
    public let heads: Int
    public let headDim: Int
    public var hidden: Int { heads * headDim }
    public init(heads: Int, headDim: Int) { self.heads = heads; self.headDim = headDim }
}

/// Runs `body(sequence, probOffset, part)` for every sequence, split over `computeThreads` threads with OpenBLAS
/// single-threaded inside (the per-head matrices are too small for its threads to pay off).
func forEachSequence(_ batch: RaggedBatch, heads: Int, _ body: (_ s: Int, _ probOffset: Int, _ part: Int) -> Void) {
    let parts = min(computeThreads, batch.count)
    var offsets = [Int](repeating: 0, count: batch.count)
    var total = 0
    for s in 0..<batch.count { offsets[s] = total; total += heads * batch.lengths[s] * batch.lengths[s] }
    if parts <= 1 {
        for s in 0..<batch.count { body(s, offsets[s], 0) }
        return
    }
    // Balance parts by attention work (Σ L²), not by sequence count.
    var bounds = [0]
    var acc = 0
    for s in 0..<batch.count {
        acc += heads * batch.lengths[s] * batch.lengths[s]
        if bounds.count < parts, acc * parts >= total * bounds.count { bounds.append(s + 1) }
    }
    while bounds.count <= parts { bounds.append(batch.count) }
    let blas = Int(openblas_get_num_threads())
    openblas_set_num_threads(1)
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        for s in bounds[part]..<bounds[part + 1] { body(s, offsets[s], part) }
    }
    openblas_set_num_threads(Int32(blas))
}

/// p[L, L] = softmax(scale · Q Kᵀ − slope · |i − j|) for one sequence and head (Q, K rows strided by ld).
@inline(__always)
func attentionProbabilities(_ p: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                            ld: Int, length L: Int, headDim d: Int, scale: Float, slope: Float?) {
    // Zero C ourselves and accumulate (beta 1): OpenBLAS's beta-0 pass costs more than a memset at this size.
    p.update(repeating: 0, count: L * L)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(L), Int32(L), Int32(d),
                scale, q, Int32(ld), k, Int32(ld), 1, p, Int32(L))
    for i in 0..<L {
        let row = p + i * L
        if let slope {
            for j in 0..<L { row[j] -= slope * Float(abs(i - j)) }
        }
        softmaxRow(row, count: L)
    }
}

/// Floats of scratch the attention kernels need for a batch: two L×L matrices per thread.
public func attentionScratchCount(_ batch: RaggedBatch) -> Int { computeThreads * 2 * batch.maxLength * batch.maxLength }

/// Dropout on the attention probabilities (training a model whose attention_probs_dropout_prob is set):
/// probability matrix element (i, j) of head h of a sequence draws index probOffset + (h·L + i)·L + j of `key`,
/// so the backward pass regenerates exactly the forward's mask.
public struct AttentionDropout: Sendable {
    public let rate: DropoutRate
    public let key: UInt64
    /// Added to every index: the draws of the sequences before this batch's first (a mini-batch of a larger one).
    public var offset: Int = 0
    public init(rate: DropoutRate, key: UInt64, offset: Int = 0) { self.rate = rate; self.key = key; self.offset = offset }

    @inline(__always) func apply(_ p: UnsafeMutablePointer<Float>, length L: Int, head h: Int, probOffset: Int) {
        dropoutInPlace(p, count: L * L, rate: rate, key: key, start: offset + probOffset + h * L * L)
    }
}

/// out[T, hidden] = dropout(softmax(QKᵀ/√d + alibi)) V per sequence and head. The attention matrices are not
/// kept (the backward pass recomputes them), so memory stays linear in the sequence length.
public func attentionForward(_ out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
                             scratch: UnsafeMutablePointer<Float>, batch: RaggedBatch, shape: AttentionShape,
                             alibiSlopes slopes: [Float]?, dropout: AttentionDropout? = nil) {
    let h3 = 3 * shape.hidden, d = shape.headDim, hidden = shape.hidden
    let scale = 1 / Float(d).squareRoot()
    forEachSequence(batch, heads: shape.heads) { s, probOffset, part in
        let L = batch.lengths[s], t0 = batch.starts[s]
        let p = scratch + part * 2 * batch.maxLength * batch.maxLength
        (out + t0 * hidden).update(repeating: 0, count: L * hidden) // PV accumulates (beta 1) into zeros
        for h in 0..<shape.heads {
            let q = qkv + t0 * h3 + h * d, k = q + hidden, v = q + 2 * hidden
            attentionProbabilities(p, q: q, k: k, ld: h3, length: L, headDim: d, scale: scale, slope: slopes?[h])
            dropout?.apply(p, length: L, head: h, probOffset: probOffset)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(L), Int32(d), Int32(L),
                        1, p, Int32(L), v, Int32(h3), 1, out + t0 * hidden + h * d, Int32(hidden))
        }
    }
}

/// Backward of `attentionForward`: dqkv[T, 3·hidden] overwritten; recomputes each head's probabilities P (and
/// with dropout regenerates the mask M: dV = (P⊙M)ᵀ dO, and the softmax backward takes dP = (dO Vᵀ)⊙M).
public func attentionBackward(dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              qkv: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                              batch: RaggedBatch, shape: AttentionShape, alibiSlopes slopes: [Float]?,
                              dropout: AttentionDropout? = nil) {
    let h3 = 3 * shape.hidden, d = shape.headDim, hidden = shape.hidden
    let scale = 1 / Float(d).squareRoot()
    forEachSequence(batch, heads: shape.heads) { s, probOffset, part in
        let L = batch.lengths[s], t0 = batch.starts[s]
        let p = scratch + part * 2 * batch.maxLength * batch.maxLength
        let dp = p + batch.maxLength * batch.maxLength
        for h in 0..<shape.heads {
            let q = qkv + t0 * h3 + h * d, k = q + hidden, v = q + 2 * hidden
            let dq = dqkv + t0 * h3 + h * d, dk = dq + hidden, dv = dq + 2 * hidden
            let dO = dout + t0 * hidden + h * d
            attentionProbabilities(p, q: q, k: k, ld: h3, length: L, headDim: d, scale: scale, slope: slopes?[h])
            // dP = dO Vᵀ (⊙ M)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(L), Int32(L), Int32(d),
                        1, dO, Int32(hidden), v, Int32(h3), 0, dp, Int32(L))
            dropout?.apply(dp, length: L, head: h, probOffset: probOffset)
            // softmax backward: dS = P ⊙ (dP − rowsum(P ⊙ dP))
            for i in 0..<L {
                let pr = p + i * L, dr = dp + i * L
                var dot: Float = 0
                for j in 0..<L { dot += pr[j] * dr[j] }
                for j in 0..<L { dr[j] = pr[j] * (dr[j] - dot) }
            }
            // dV = (P ⊙ M)ᵀ dO, once P itself is no longer needed
            dropout?.apply(p, length: L, head: h, probOffset: probOffset)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(L), Int32(d), Int32(L),
                        1, p, Int32(L), dO, Int32(hidden), 0, dv, Int32(h3))
            // dQ = scale · dS K ; dK = scale · dSᵀ Q
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(L), Int32(d), Int32(L),
                        scale, dp, Int32(L), k, Int32(h3), 0, dq, Int32(h3))
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(L), Int32(d), Int32(L),
                        scale, dp, Int32(L), q, Int32(h3), 0, dk, Int32(h3))
        }
    }
}
