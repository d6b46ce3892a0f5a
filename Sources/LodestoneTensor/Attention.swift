// Multi-head self-attention over unpadded sequences, tiled (FlashAttention-2's passes on the CPU): queries and
// keys are taken in blocks, QKᵀ and PV of each tile are cblas_sgemm calls, and the softmax is computed online
// (a running row max and row sum), so no L×L matrix exists anywhere and memory is linear in the length. The
// forward pass keeps one log-sum-exp per (head, token); the backward pass recomputes each tile's P from it.
// qkv rows hold [Q | K | V], each [heads · headDim] (MosaicBERT's fused Wqkv layout, and BERT's
// query/key/value weights stored back to back). Padding needs no mask: padded keys are never present.
// ALiBi (MosaicBERT) adds -slope_h · |i - j| to the scores, computed inside each tile for any length, which is
// what upstream's alibi tensor holds after it is rebuilt for sequences longer than alibi_starting_size.
import COpenBLAS
import LodestoneBase
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
    /// The precision of QKᵀ, PV and their backward products (softmax and its statistics stay fp32).
    public var precision: MatmulPrecision
    public var hidden: Int { heads * headDim }
    public init(heads: Int, headDim: Int, precision: MatmulPrecision = .fp32) {
        self.heads = heads; self.headDim = headDim; self.precision = precision
    }
}

/// Dropout on the attention probabilities (training a model whose attention_probs_dropout_prob is set):
/// probability element (i, j) of head h of sequence s draws index offset + probOffset_s + (h·L + i)·L + j of
/// `key`, where probOffset_s = Σ_{s' < s} heads · L_{s'}², so the backward pass regenerates the forward's mask
/// tile by tile. `offset` lets a part of a batch draw the masks the whole batch would.
public struct AttentionDropout: Sendable {
    public let rate: DropoutRate
    public let key: UInt64
    public var offset: Int = 0
    public init(rate: DropoutRate, key: UInt64, offset: Int = 0) { self.rate = rate; self.key = key; self.offset = offset }

    /// Drops `count` probabilities of a tile row that start at draw index `start` (kept ones scaled by 1/(1−p)).
    @inline(__always) func apply(_ row: UnsafeMutablePointer<Float>, count: Int, start: Int) {
        dropoutInPlace(row, count: count, rate: rate, key: key, start: offset + start)
    }
}

/// Floats of scratch the attention kernels need for a batch: per thread two score tiles and three row vectors,
/// a size fixed by the tile sizes (smaller for short batches), whatever the sequence length.
public func attentionScratchCount(_ batch: RaggedBatch) -> Int {
    computeThreads * AttentionTiles(maxLength: batch.maxLength).scratchPerThread
}

/// out[T, hidden] = dropout(softmax(QKᵀ/√d + alibi)) V per sequence and head. `logSumExp` (heads · T floats;
/// sequence s's head h row i at heads·start_s + h·L + i) receives each score row's log Σ exp, which the
/// backward pass needs; nil at inference.
public func attentionForward(_ out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
                             logSumExp: UnsafeMutablePointer<Float>? = nil,
                             scratch: UnsafeMutablePointer<Float>, batch: RaggedBatch, shape: AttentionShape,
                             alibiSlopes slopes: [Float]?, dropout: AttentionDropout? = nil) {
    let tiles = AttentionTiles(maxLength: batch.maxLength)
    forEachHead(batch, heads: shape.heads) { s, h, probOffset, part in
        let head = AttentionHead(batch: batch, shape: shape, sequence: s, head: h, qkv: qkv, slope: slopes?[h],
                                 dropout: dropout, probOffset: probOffset)
        head.forward(out: out, logSumExp: logSumExp, tiles: tiles, scratch: scratch + part * tiles.scratchPerThread)
    }
}

/// Backward of `attentionForward`: dqkv[T, 3·hidden] overwritten, from the forward's `out` and `logSumExp`
/// (FlashAttention-2: D_i = rowsum(dO_i ⊙ O_i), each tile's P = exp(S − lse) recomputed; with dropout M
/// regenerated: dV = (P⊙M/(1−p))ᵀ dO, dP = (dO Vᵀ)⊙M/(1−p), dS = P ⊙ (dP − D)).
public func attentionBackward(dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              qkv: UnsafePointer<Float>, out: UnsafePointer<Float>, logSumExp: UnsafePointer<Float>,
                              scratch: UnsafeMutablePointer<Float>, batch: RaggedBatch, shape: AttentionShape,
                              alibiSlopes slopes: [Float]?, dropout: AttentionDropout? = nil) {
    let tiles = AttentionTiles(maxLength: batch.maxLength)
    forEachHead(batch, heads: shape.heads) { s, h, probOffset, part in
        let head = AttentionHead(batch: batch, shape: shape, sequence: s, head: h, qkv: qkv, slope: slopes?[h],
                                 dropout: dropout, probOffset: probOffset)
        head.backward(dqkv: dqkv, dout: dout, out: out, logSumExp: logSumExp, tiles: tiles,
                      scratch: scratch + part * tiles.scratchPerThread)
    }
}

/// Runs `body(sequence, head, probOffset, part)` for every (sequence, head), taken in turn by `computeThreads`
/// threads (`part`: the thread's scratch slot), OpenBLAS single-threaded inside (tiles are too small for its
/// threads to pay off). Heads, not sequences, are the unit, so one long sequence still uses every thread.
func forEachHead(_ batch: RaggedBatch, heads: Int, _ body: (_ s: Int, _ h: Int, _ probOffset: Int, _ part: Int) -> Void) {
    var offsets = [Int](repeating: 0, count: batch.count)
    var total = 0
    for s in 0..<batch.count { offsets[s] = total; total += heads * batch.lengths[s] * batch.lengths[s] }
    let items = batch.count * heads
    let parts = min(computeThreads, items)
    if parts <= 1 {
        for s in 0..<batch.count { for h in 0..<heads { body(s, h, offsets[s], 0) } }
        return
    }
    let next = IndexCounter()   // each (sequence, head) writes only its own outputs: any thread may take any
    let blas = Int(openblas_get_num_threads())
    openblas_set_num_threads(1)
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        while let item = next.take(below: items) { body(item / heads, item % heads, offsets[item / heads], part) }
    }
    openblas_set_num_threads(Int32(blas))
}

