// Activations of one forward (and backward) pass, carved out of one allocation that grows when a batch
// needs more and is otherwise reused, so a training step performs no per-op heap allocation.
// Inference keeps a single layer's buffers (reused by every layer); training keeps every layer's.
import LodestoneTensor

/// One layer's saved tensors (all [tokens, ·] rows, unpadded).
public struct LayerActivations {
    public var qkv, attention, attentionSum, attentionMean, attentionRstd, attentionNormed: UnsafeMutablePointer<Float>
    public var ffnIn, ffnAct, ffnSum, ffnMean, ffnRstd, output: UnsafeMutablePointer<Float>
}

/// Gradient scratch shared by all layers during the backward pass.
public struct GradientScratch {
    public var dX, dSum, dAttention, dQKV, dFfnIn, dFfnAct, dEmbeddings, poolScratch, scores: UnsafeMutablePointer<Float>
}

public final class Activations {
    public private(set) var embeddingSum: UnsafeMutablePointer<Float>!
    public private(set) var embeddingMean: UnsafeMutablePointer<Float>!
    public private(set) var embeddingRstd: UnsafeMutablePointer<Float>!
    public private(set) var embeddingOutput: UnsafeMutablePointer<Float>!
    public private(set) var layers: [LayerActivations] = []
    public private(set) var sentenceEmbeddings: UnsafeMutablePointer<Float>!
    public private(set) var norms: UnsafeMutablePointer<Float>!
    /// Per-thread L×L matrices for the attention kernels.
    public private(set) var attentionScratch: UnsafeMutablePointer<Float>!
    public private(set) var scratch: GradientScratch?
    public private(set) var ids: UnsafeMutablePointer<Int32>!

    private var storage: UnsafeMutablePointer<Float>?
    private var capacity = 0
    private var idStorage: UnsafeMutablePointer<Int32>?
    private var idCapacity = 0

    public init() {}
    deinit { storage?.deallocate(); idStorage?.deallocate() }

    /// Lays out buffers for `batch`; grows the allocation only when it is too small.
    /// `training`: keep every layer and add gradient scratch; `scoreCount`: loss score matrix size.
    public func prepare(config c: EncoderConfig, batch: RaggedBatch, training: Bool, scoreCount: Int = 0) {
        let T = batch.tokenCount, S = batch.count, H = c.hidden, I = c.intermediate
        let ffnIn = c.isMosaic ? 2 * I : I
        let scratchCount = attentionScratchCount(batch)
        let perTokenPerLayer: Int = 8 * H + 4 + ffnIn + I
        let perLayer: Int = T * perTokenPerLayer
        let stored: Int = training ? c.layers : 1
        var total: Int = T * (2 * H + 2) + stored * perLayer + S * (H + 1) + scratchCount
        if training {
            let perToken: Int = 6 * H + ffnIn + I
            total += T * perToken + S * H + H + scoreCount
        }
        if total > capacity {
            storage?.deallocate()
            capacity = total + total / 4
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
        layers = (0..<stored).map { _ in
            LayerActivations(qkv: take(T * 3 * H), attention: take(T * H),
                             attentionSum: take(T * H), attentionMean: take(T), attentionRstd: take(T),
                             attentionNormed: take(T * H), ffnIn: take(T * ffnIn), ffnAct: take(T * I),
                             ffnSum: take(T * H), ffnMean: take(T), ffnRstd: take(T), output: take(T * H))
        }
        sentenceEmbeddings = take(S * H); norms = take(S); attentionScratch = take(scratchCount)
        scratch = training ? GradientScratch(dX: take(T * H), dSum: take(T * H), dAttention: take(T * H),
                                             dQKV: take(T * 3 * H), dFfnIn: take(T * ffnIn), dFfnAct: take(T * I),                                             dEmbeddings: take(S * H), poolScratch: take(H), scores: take(scoreCount)) : nil
    }

    /// The saved tensors of layer `l` (inference reuses layer 0's).
    public func layer(_ l: Int) -> LayerActivations { layers[min(l, layers.count - 1)] }
}
