// Activations of one forward (and backward) pass, carved out of one allocation that grows when a batch
// needs more and is otherwise reused, so a training step performs no per-op heap allocation.
// Inference keeps a single layer's buffers (reused by every layer); training keeps what each layer's backward
// cannot cheaply rebuild. All layers share three buffers whose contents the backward pass recomputes element-wise
// instead of keeping twelve copies: the feed-forward activation (a GELU of the block's input) and both LayerNorm
// outputs (from the kept sums, means and reciprocal deviations). With `recomputeInBackward` two more are shared:
// the feed-forward input (tokens × 2·intermediate for MosaicBERT, the largest tensor of a layer), whose GEMM
// backward runs again from the recomputed LayerNorm output, and the attention output, which backward recomputes
// from the kept q, k, v. A sixth more GEMM work (and one more attention forward) for half the activation memory.
// The gradient scratch of the attention block (dQKV, dAttention) lies inside the feed-forward block's (dFfnIn):
// a layer's backward finishes one block before it starts the other.
import LodestoneTensor

/// One layer's saved tensors (all [tokens, ·] rows, unpadded). `attentionNormed`, `output` and `ffnAct` point to
/// buffers every layer shares (and `ffnIn` and `attention` too when recomputed): backward rebuilds them before use.
public struct LayerActivations {
    public var qkv, attention, attentionSum, attentionMean, attentionRstd, attentionNormed: UnsafeMutablePointer<Float>
    public var ffnIn, ffnAct, ffnSum, ffnMean, ffnRstd, output: UnsafeMutablePointer<Float>
    /// Dropout masks (bits) of the attention output and the feed-forward block; nil unless training drops.
    public var attentionOutputMask, feedForwardMask: UnsafeMutablePointer<UInt64>?
    /// Attention's log-sum-exp per (head, token), which its backward pass needs; nil at inference.
    public var logSumExp: UnsafeMutablePointer<Float>? = nil
}

/// Gradient scratch shared by all layers during the backward pass.
public struct GradientScratch {
    public var dX, dSum, dAttention, dQKV, dFfnIn, dFfnAct, poolScratch: UnsafeMutablePointer<Float>
}

public final class Activations {
    public private(set) var embeddingSum: UnsafeMutablePointer<Float>!
    public private(set) var embeddingMean: UnsafeMutablePointer<Float>!
    public private(set) var embeddingRstd: UnsafeMutablePointer<Float>!
    public private(set) var embeddingOutput: UnsafeMutablePointer<Float>!
    public private(set) var layers: [LayerActivations] = []
    public private(set) var sentenceEmbeddings: UnsafeMutablePointer<Float>!
    public private(set) var norms: UnsafeMutablePointer<Float>!
    /// Per-thread attention tiles (a fixed size, whatever the length).
    public private(set) var attentionScratch: UnsafeMutablePointer<Float>!
    public private(set) var scratch: GradientScratch?
    public private(set) var ids: UnsafeMutablePointer<Int32>!
    /// Dropout mask (bits) after the embeddings' LayerNorm; nil unless training drops.
    public private(set) var embeddingMask: UnsafeMutablePointer<UInt64>?

    private var storage: UnsafeMutablePointer<Float>?
    private var capacity = 0
    private var idStorage: UnsafeMutablePointer<Int32>?
    private var idCapacity = 0
    private var maskStorage: UnsafeMutablePointer<UInt64>?
    private var maskCapacity = 0

    public init() {}
    deinit { storage?.deallocate(); idStorage?.deallocate(); maskStorage?.deallocate() }

    /// What `prepare` lays out for a batch, in floats, token ids and dropout-mask words.
    public struct Footprint: Equatable, Sendable {
        public var floats = 0, ids = 0, maskWords = 0
        public var bytes: Int { 4 * floats + 4 * ids + 8 * maskWords }
    }

    /// Whether the layers' feed-forward inputs were kept by the last `prepare` (false: backward recomputes them).
    public private(set) var keepsRecomputable = true

    /// The footprint of `prepare(config:batch:training:dropoutMasks:recomputeInBackward:)` for `tokens` tokens in
    /// `sequences` sequences whose attention needs `attentionScratch` floats: the one formula the mini-batch
    /// planner and `prepare` share.
    public static func footprint(config c: EncoderConfig, tokens T: Int, sequences S: Int, attentionScratch: Int,
                                 training: Bool, dropoutMasks: Bool, recomputeInBackward: Bool = false) -> Footprint {
        let H = c.hidden, I = c.intermediate, ffnIn = c.isMosaic ? 2 * I : I
        let stored = training ? c.layers : 1
        let recompute = training && recomputeInBackward
        // Per layer: qkv, the attention output (unless recomputed), the two sums, their statistics, ffnIn (unless
        // recomputed).
        let perLayer = 3 * H + (recompute ? 0 : H) + 2 * H + 4 + (recompute ? 0 : ffnIn)
        var f = Footprint()
        // Embeddings' sum, statistics and output; the shared LayerNorm outputs and activation (and attention
        // output); the layers.
        f.floats = T * (2 * H + 2) + T * (2 * H + I + (recompute ? H : 0)) + stored * T * perLayer + S * (H + 1) + attentionScratch
        if training { f.floats += scratchFloats(config: c, tokens: T) + c.layers * T * c.heads } // + attention log-sum-exp
        f.ids = T
        if dropoutMasks {
            let hiddenWords = dropoutMaskWords(T * H), ffnWords = dropoutMaskWords(T * (c.isMosaic ? I : H))
            f.maskWords = hiddenWords + stored * (hiddenWords + ffnWords)
        }
        return f
    }

    /// dX, dSum; dFfnIn, holding dQKV and dAttention when it is large enough; dFfnAct; the pooling's scratch.
    private static func scratchFloats(config c: EncoderConfig, tokens T: Int) -> Int {
        let H = c.hidden, ffnIn = c.isMosaic ? 2 * c.intermediate : c.intermediate
        return T * (2 * H + max(ffnIn, 4 * H) + c.intermediate) + H
    }

    /// Lays out buffers for `batch`; grows the allocation only when it is too small.
    /// `training`: keep every layer and add gradient scratch; `dropoutMasks`: bits for every hidden dropout site;
    /// `recomputeInBackward` (training only): the layers' feed-forward inputs live in the gradient scratch's
    /// `dFfnIn` one at a time, and backward rebuilds each.
    public func prepare(config c: EncoderConfig, batch: RaggedBatch, training: Bool, dropoutMasks: Bool = false,
                        recomputeInBackward: Bool = false) {
        let T = batch.tokenCount, S = batch.count, H = c.hidden, I = c.intermediate
        let ffnIn = c.isMosaic ? 2 * I : I
        let scratchCount = attentionScratchCount(batch)
        let stored: Int = training ? c.layers : 1
        let recompute = training && recomputeInBackward
        let total = Activations.footprint(config: c, tokens: T, sequences: S, attentionScratch: scratchCount,
                                          training: training, dropoutMasks: dropoutMasks, recomputeInBackward: recompute).floats
        if total > capacity {
            storage?.deallocate()
            capacity = total + total / 4   // headroom against regrowing; untouched pages cost no memory
            storage = .allocate(capacity: capacity)
        }
        if T > idCapacity {
            idStorage?.deallocate()
            idCapacity = T + T / 4
            idStorage = .allocate(capacity: idCapacity)
        }
        ids = idStorage
        var next = storage!
        func take(_ n: Int) -> UnsafeMutablePointer<Float> { defer { next += n }; return next }
        embeddingSum = take(T * H); embeddingMean = take(T); embeddingRstd = take(T); embeddingOutput = take(T * H)
        // Shared by every layer (see the top of this file).
        let ffnAct = take(T * I), normed = take(T * H), output = take(T * H)
        let sharedAttention = recompute ? take(T * H) : nil
        var scratch: GradientScratch? = nil
        if training {
            let dX = take(T * H), dSum = take(T * H), blocks = take(T * max(ffnIn, 4 * H))
            scratch = GradientScratch(dX: dX, dSum: dSum, dAttention: blocks + T * 3 * H, dQKV: blocks, dFfnIn: blocks,
                                      dFfnAct: take(T * I), poolScratch: take(H))
        }
        layers = (0..<stored).map { _ in
            LayerActivations(qkv: take(T * 3 * H), attention: sharedAttention ?? take(T * H),
                             attentionSum: take(T * H), attentionMean: take(T), attentionRstd: take(T),
                             attentionNormed: normed, ffnIn: recompute ? scratch!.dFfnIn : take(T * ffnIn), ffnAct: ffnAct,
                             ffnSum: take(T * H), ffnMean: take(T), ffnRstd: take(T), output: output,
                             logSumExp: training ? take(T * c.heads) : nil)
        }
        keepsRecomputable = !recompute
        embeddingMask = nil
        if dropoutMasks { takeMasks(config: c, tokens: T) }
        sentenceEmbeddings = take(S * H); norms = take(S); attentionScratch = take(scratchCount)
        self.scratch = scratch
    }

    /// Mask bits for the embeddings and each layer's attention output and feed-forward dropout (MosaicBERT drops
    /// the gated activation, [T, intermediate]; BERT the block's output, [T, hidden]).
    private func takeMasks(config c: EncoderConfig, tokens T: Int) {
        let hiddenWords = dropoutMaskWords(T * c.hidden)
        let ffnWords = dropoutMaskWords(T * (c.isMosaic ? c.intermediate : c.hidden))
        let total = hiddenWords + layers.count * (hiddenWords + ffnWords)
        if total > maskCapacity {
            maskStorage?.deallocate()
            maskCapacity = total
            maskStorage = .allocate(capacity: maskCapacity)
        }
        var next = maskStorage!
        func take(_ n: Int) -> UnsafeMutablePointer<UInt64> { defer { next += n }; return next }
        embeddingMask = take(hiddenWords)
        for l in layers.indices {
            layers[l].attentionOutputMask = take(hiddenWords)
            layers[l].feedForwardMask = take(ffnWords)
        }
    }

    /// The saved tensors of layer `l` (inference reuses layer 0's).
    public func layer(_ l: Int) -> LayerActivations { layers[min(l, layers.count - 1)] }
}
