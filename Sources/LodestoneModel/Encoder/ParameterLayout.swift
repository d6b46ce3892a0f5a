// Where every parameter lives in the one contiguous Float buffer (llm.c style), under its upstream name.
// Gradients and AdamW moments use the same layout, so zeroing, clipping, the optimizer and checkpoints are
// single loops over single arrays. BERT's separate query/key/value weights are placed back to back so that
// they form one [3·hidden, hidden] matrix, the same fused layout as MosaicBERT's Wqkv.

/// Offsets (in floats) of one encoder layer's parameters.
public struct LayerOffsets: Sendable {
    public var qkvWeight = 0, qkvBias = 0
    public var attentionOutWeight = 0, attentionOutBias = 0
    public var attentionNormWeight = 0, attentionNormBias = 0
    /// MosaicBERT: gated_layers [2·I, H], no bias. BERT: intermediate.dense [I, H] + bias.
    public var ffnInWeight = 0, ffnInBias: Int? = nil
    public var ffnOutWeight = 0, ffnOutBias = 0
    public var ffnNormWeight = 0, ffnNormBias = 0
}

/// Offsets of the embedding parameters.
public struct EmbeddingOffsets: Sendable {
    public var word = 0, position: Int? = nil, tokenType = 0, normWeight = 0, normBias = 0
}

public struct ParameterEntry: Sendable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
}

public struct ParameterLayout: Sendable {
    /// Entries in upstream order (the order of the model's state dict).
    public private(set) var entries: [ParameterEntry] = []
    public private(set) var embeddings = EmbeddingOffsets()
    public private(set) var layers: [LayerOffsets] = []
    public private(set) var totalCount = 0
    /// "bert." for MosaicBERT (BertForMaskedLM's state dict), "" for classic BERT (BertModel).
    public let prefix: String

    public init(config c: EncoderConfig) {
        prefix = c.isMosaic ? "bert." : ""
        let H = c.hidden, I = c.intermediate
        var next = 0
        func take(_ n: Int) -> Int { defer { next += n }; return next }
        func add(_ name: String, _ shape: [Int], at offset: Int) {
            entries.append(ParameterEntry(name: prefix + name, shape: shape, offset: offset))
        }
        func param(_ name: String, _ shape: [Int]) -> Int {
            let o = take(shape.reduce(1, *)); add(name, shape, at: o); return o
        }
        embeddings.word = param("embeddings.word_embeddings.weight", [c.vocabSize, H])
        if !c.isMosaic { embeddings.position = param("embeddings.position_embeddings.weight", [c.maxPositionEmbeddings, H]) }
        embeddings.tokenType = param("embeddings.token_type_embeddings.weight", [c.typeVocabSize, H])
        embeddings.normWeight = param("embeddings.LayerNorm.weight", [H])
        embeddings.normBias = param("embeddings.LayerNorm.bias", [H])
        for l in 0..<c.layers {
            let p = "encoder.layer.\(l)."
            var o = LayerOffsets()
            if c.isMosaic {
                o.qkvWeight = param(p + "attention.self.Wqkv.weight", [3 * H, H])
                o.qkvBias = param(p + "attention.self.Wqkv.bias", [3 * H])
            } else {
                o.qkvWeight = take(3 * H * H)
                o.qkvBias = take(3 * H)
                for (i, part) in ["query", "key", "value"].enumerated() {
                    add(p + "attention.self.\(part).weight", [H, H], at: o.qkvWeight + i * H * H)
                    add(p + "attention.self.\(part).bias", [H], at: o.qkvBias + i * H)
                }
            }
            o.attentionOutWeight = param(p + "attention.output.dense.weight", [H, H])
            o.attentionOutBias = param(p + "attention.output.dense.bias", [H])
            o.attentionNormWeight = param(p + "attention.output.LayerNorm.weight", [H])
            o.attentionNormBias = param(p + "attention.output.LayerNorm.bias", [H])
            if c.isMosaic {
                o.ffnInWeight = param(p + "mlp.gated_layers.weight", [2 * I, H])
                o.ffnOutWeight = param(p + "mlp.wo.weight", [H, I])
                o.ffnOutBias = param(p + "mlp.wo.bias", [H])
                o.ffnNormWeight = param(p + "mlp.layernorm.weight", [H])
                o.ffnNormBias = param(p + "mlp.layernorm.bias", [H])
            } else {
                o.ffnInWeight = param(p + "intermediate.dense.weight", [I, H])
                o.ffnInBias = param(p + "intermediate.dense.bias", [I])
                o.ffnOutWeight = param(p + "output.dense.weight", [H, I])
                o.ffnOutBias = param(p + "output.dense.bias", [H])
                o.ffnNormWeight = param(p + "output.LayerNorm.weight", [H])
                o.ffnNormBias = param(p + "output.LayerNorm.bias", [H])
            }
            layers.append(o)
        }
        totalCount = next
    }

    /// Where layer `l`'s parameters lie: each layer's are contiguous, in layer order after the embeddings', and
    /// start with its QKV weight.
    public func layerRange(_ l: Int) -> Range<Int> {
        layers[l].qkvWeight..<(l + 1 < layers.count ? layers[l + 1].qkvWeight : totalCount)
    }

    /// The entry for an upstream name, accepted with or without the `bert.` prefix.
    public func entry(named name: String) -> ParameterEntry? {
        let bare = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name
        return entries.first { $0.name == prefix + bare }
    }

    /// Parameters of the embedding matrices (excluded from the 6·N·tokens FLOP estimate).
    public var embeddingParameterCount: Int {
        entries.filter { $0.name.contains("embeddings.") && $0.shape.count == 2 }.reduce(0) { $0 + $1.count }
    }
}
