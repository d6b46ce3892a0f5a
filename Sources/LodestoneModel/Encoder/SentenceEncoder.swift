// The sentence encoder: MosaicBERT or classic BERT over one contiguous parameter buffer, then mean pooling
// and L2 normalization. Inputs are token-id lists (with [CLS]/[SEP], no padding); the batch is run
// unpadded. Not thread-safe: one instance runs one batch at a time (it owns its activation buffers).
import Foundation
import LodestoneBase
import LodestoneTensor

public enum EncoderError: Error, CustomStringConvertible, Equatable {
    case missingTensor(name: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case tokenOutOfRange(row: Int, position: Int, id: Int32, vocabSize: Int)
    case sequenceTooLong(row: Int, length: Int, maxPositions: Int)
    case emptySequence(row: Int)
    case badBatch(reason: String)

    public var description: String {
        switch self {
        case let .missingTensor(name): return "weights: missing tensor '\(name)'"
        case let .shapeMismatch(name, e, f): return "weights: tensor '\(name)' has shape \(f), expected \(e)"
        case let .tokenOutOfRange(row, pos, id, v): return "input row \(row), position \(pos): token id \(id) outside the vocabulary [0, \(v))"
        case let .sequenceTooLong(row, l, m): return "input row \(row): \(l) tokens exceed max_position_embeddings \(m)"
        case let .emptySequence(row): return "input row \(row): empty token list"
        case let .badBatch(reason): return "training batch: \(reason)"
        }
    }
}

public final class SentenceEncoder {
    public let config: EncoderConfig
    public let layout: ParameterLayout
    /// All parameters, `layout.totalCount` floats.
    public let parameters: UnsafeMutablePointer<Float>
    let slopes: [Float]?
    private let inference = Activations()
    /// The precision of the encoder's GEMMs, forward and backward (`PrecisionRequest.resolve` picks it; bf16 needs
    /// avx512_bf16). The parameters themselves stay fp32 either way, so checkpoints do not depend on it.
    public var precision: MatmulPrecision = .fp32
    /// bf16 copies of the weight matrices, packed on first use in bf16 and kept until `parametersChanged()`.
    let packedWeights = BF16WeightCache()

    public var parameterCount: Int { layout.totalCount }

    private init(config: EncoderConfig) {
        self.config = config
        layout = ParameterLayout(config: config)
        parameters = .allocate(capacity: layout.totalCount)
        parameters.initialize(repeating: 0, count: layout.totalCount)
        slopes = config.isMosaic ? alibiSlopes(heads: config.heads) : nil
    }

    deinit { parameters.deallocate() }

    /// Call after writing `parameters` (the trainer does after AdamW and after loading a state): the bf16
    /// copies of the weights are stale from then on and are packed again on their next use.
    public func parametersChanged() { packedWeights.invalidate() }

    /// The layers' context for a batch: GEMMs in `precision`, bf16 ones from the packed weights.
    func layerContext(batch: RaggedBatch, scratch: UnsafeMutablePointer<Float>, dropout: StepDropout?) -> LayerContext {
        LayerContext(config: config, batch: batch, slopes: slopes, attentionScratch: scratch, dropout: dropout,
                     precision: precision, packedWeights: precision == .bf16 ? packedWeights : nil)
    }

    /// Loads weights under upstream names, with or without the `bert.` prefix. Tensors the encoder does not
    /// use (`cls.*` MLM head, `pooler.*`, position_ids buffers) are ignored.
    public convenience init(config: EncoderConfig, weights: [String: TensorData]) throws {
        self.init(config: config)
        var byBareName: [String: TensorData] = [:]
        for (name, t) in weights {
            byBareName[name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name] = t
        }
        for e in layout.entries {
            let bare = e.name.hasPrefix("bert.") ? String(e.name.dropFirst(5)) : e.name
            guard let t = byBareName[bare] else { throw EncoderError.missingTensor(name: e.name) }
            guard t.shape == e.shape else { throw EncoderError.shapeMismatch(name: e.name, expected: e.shape, found: t.shape) }
            t.values.withUnsafeBufferPointer { (parameters + e.offset).update(from: $0.baseAddress!, count: e.count) }
        }
    }

    /// A freshly initialised encoder as Hugging Face's _init_weights: weights ~ normal(0, initializer_range),
    /// the padding row of the word embeddings zero, LayerNorm weight 1 and bias 0, biases 0.
    public convenience init(config: EncoderConfig, randomSeed: UInt64) {
        self.init(config: config)
        var rng = NormalGenerator(seed: randomSeed)
        for e in layout.entries {
            let p = parameters + e.offset
            if e.name.hasSuffix("LayerNorm.weight") || e.name.hasSuffix("layernorm.weight") {
                p.update(repeating: 1, count: e.count)
            } else if e.shape.count == 2 {
                for i in 0..<e.count { p[i] = Float(rng.nextNormal()) * config.initializerRange }
                if e.name.hasSuffix("word_embeddings.weight"), config.padTokenId < config.vocabSize {
                    (p + config.padTokenId * config.hidden).update(repeating: 0, count: config.hidden)
                }
            } // biases stay 0
        }
    }

    /// Every parameter under its upstream name (MosaicBERT with the `bert.` prefix), in state-dict order.
    /// The parameters under their upstream names, written straight from the parameter buffer (no copy); the
    /// encoder must outlive the write.
    public func streamedWeights() -> StreamedTensors {
        let entries = layout.entries
        return StreamedTensors(entries: entries.map { ($0.name, $0.shape) }) { [parameters] i, sink in
            try sink.write(UnsafeRawBufferPointer(UnsafeBufferPointer(start: parameters + entries[i].offset, count: entries[i].count)))
        }
    }

    public func namedWeights() -> [(String, TensorData)] {
        layout.entries.map { e in
            (e.name, TensorData(shape: e.shape, values: Array(UnsafeBufferPointer(start: parameters + e.offset, count: e.count))))
        }
    }

    /// Checks ids and lengths; returns the unpadded batch description.
    func validate(_ batch: [[Int32]]) throws -> RaggedBatch {
        for (r, ids) in batch.enumerated() {
            if ids.isEmpty { throw EncoderError.emptySequence(row: r) }
            if !config.isMosaic, ids.count > config.maxPositionEmbeddings {
                throw EncoderError.sequenceTooLong(row: r, length: ids.count, maxPositions: config.maxPositionEmbeddings)
            }
            for (i, id) in ids.enumerated() where id < 0 || Int(id) >= config.vocabSize {
                throw EncoderError.tokenOutOfRange(row: r, position: i, id: id, vocabSize: config.vocabSize)
            }
        }
        return RaggedBatch(lengths: batch.map(\.count))
    }

    /// Embeddings → layers → pooling into `act` (prepared by the caller). Returns the final hidden states.
    /// `dropout` (training only): the step's dropout; `act` must then hold dropout masks.
    @discardableResult
    func forward(_ batch: [[Int32]], ragged: RaggedBatch, act: Activations, dropout: StepDropout? = nil) -> UnsafeMutablePointer<Float> {
        let c = config, H = c.hidden, T = ragged.tokenCount, p = parameters, e = layout.embeddings
        var t = 0
        for ids in batch { for id in ids { act.ids[t] = id; t += 1 } }
        embeddingForward(act.embeddingSum, ids: act.ids, word: p + e.word, tokenType: p + e.tokenType,
                         position: e.position.map { p + $0 }, batch: ragged, dim: H)
        layerNormForward(act.embeddingOutput, mean: act.embeddingMean, rstd: act.embeddingRstd, x: act.embeddingSum,
                         residual: nil, weight: p + e.normWeight, bias: p + e.normBias, rows: T, dim: H, eps: c.layerNormEps)
        dropout?.forward(act.embeddingOutput, mask: act.embeddingMask, tokens: T, width: H, layer: -1, .embeddings)
        let ctx = layerContext(batch: ragged, scratch: act.attentionScratch, dropout: dropout)
        var x = act.embeddingOutput!
        for l in 0..<c.layers {
            let a = act.layer(l)
            encoderLayerForward(ctx, params: p, offsets: layout.layers[l], input: x, act: a, layer: l)
            x = a.output
        }
        meanPoolNormalizeForward(act.sentenceEmbeddings, norms: act.norms, x: x, batch: ragged, dim: H)
        return x
    }

    /// Mean-pooled, L2-normalized sentence embeddings, one per input row.
    public func embed(_ batch: [[Int32]]) throws -> [[Float]] { try embed(batch, using: inference) }

    /// `embed` into caller-owned buffers: threads that each own an `Activations` may run batches at once
    /// (parameters are only read).
    func embed(_ batch: [[Int32]], using act: Activations) throws -> [[Float]] {
        guard !batch.isEmpty else { return [] }
        let ragged = try validate(batch)
        act.prepare(config: config, batch: ragged, training: false)
        forward(batch, ragged: ragged, act: act)
        let H = config.hidden
        return (0..<batch.count).map { Array(UnsafeBufferPointer(start: act.sentenceEmbeddings + $0 * H, count: H)) }
    }

    /// Last hidden states per row ([length × hidden] each, row-major), before pooling.
    public func tokenEmbeddings(_ batch: [[Int32]]) throws -> [[Float]] { try tokenEmbeddings(batch, using: inference) }

    /// `tokenEmbeddings` into caller-owned buffers (see `embed(_:using:)`).
    func tokenEmbeddings(_ batch: [[Int32]], using act: Activations) throws -> [[Float]] {
        guard !batch.isEmpty else { return [] }
        let ragged = try validate(batch)
        act.prepare(config: config, batch: ragged, training: false)
        let x = forward(batch, ragged: ragged, act: act)
        let H = config.hidden
        return (0..<batch.count).map { Array(UnsafeBufferPointer(start: x + ragged.starts[$0] * H, count: ragged.lengths[$0] * H)) }
    }
}

/// Box–Muller normals from SplitMix64: small, seedable, identical on every platform.
struct NormalGenerator {
    var uniform: SplitMix64
    var spare: Double?
    init(seed: UInt64) { uniform = SplitMix64(seed: seed) }
    mutating func nextNormal() -> Double {
        if let s = spare { spare = nil; return s }
        let u1 = max(uniform.nextDouble(), 1e-300), u2 = uniform.nextDouble()
        let r = (-2 * log(u1)).squareRoot()
        spare = r * sin(2 * .pi * u2)
        return r * cos(2 * .pi * u2)
    }
}
