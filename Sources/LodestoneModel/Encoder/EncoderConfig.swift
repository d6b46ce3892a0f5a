// The encoder's hyperparameters from a Hugging Face config.json. MosaicBERT and classic BERT share the
// field names; MosaicBERT is recognised by `alibi_starting_size` or an auto_map pointing at bert_layers
// (upstream's modules) or modeling_mosaic_bert (ours, see PythonModeling).
// The raw JSON object is kept so that tools can edit a field and write the file back unchanged otherwise.
import Foundation
import LodestoneBase

public struct EncoderConfig {
    public var raw: [String: Any]
    public var isMosaic: Bool
    public var hidden: Int
    public var layers: Int
    public var heads: Int
    public var intermediate: Int
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var alibiStartingSize: Int
    public var layerNormEps: Float
    public var initializerRange: Float
    public var padTokenId: Int
    /// hidden_dropout_prob and attention_probs_dropout_prob (Hugging Face's default 0.1 when absent): what
    /// training applies under `--dropout auto`; inference never drops.
    public var hiddenDropout: Float
    public var attentionDropout: Float

    public var headDim: Int { hidden / heads }

    /// Reads config.json; errors name the file and the missing or invalid field.
    public init(contentsOf url: URL) throws {
        try self.init(json: try readJSONObject(url.path), file: url.path)
    }

    /// Builds a config from a parsed JSON object (`file` names it in errors).
    public init(json obj: [String: Any], file: String = "config.json") throws {
        func int(_ key: String, default def: Int? = nil) throws -> Int {
            guard let v = obj[key] else {
                if let def { return def }
                throw InputError(file: file, field: key, reason: "missing")
            }
            guard let n = v as? NSNumber, Double(n.intValue) == n.doubleValue, n.intValue >= 0 else {
                throw InputError(file: file, field: key, reason: "expected a non-negative integer, found \(v)")
            }
            return n.intValue
        }
        func float(_ key: String, default def: Float) throws -> Float {
            guard let v = obj[key] else { return def }
            guard let n = v as? NSNumber else { throw InputError(file: file, field: key, reason: "expected a number, found \(v)") }
            return n.floatValue
        }
        raw = obj
        let autoMap = (obj["auto_map"] as? [String: Any])?.values.compactMap { $0 as? String } ?? []
        isMosaic = obj["alibi_starting_size"] != nil
            || autoMap.contains { $0.hasPrefix("bert_layers.") || PythonModeling.autoMap.values.contains($0) }
        hidden = try int("hidden_size")
        layers = try int("num_hidden_layers")
        heads = try int("num_attention_heads")
        intermediate = try int("intermediate_size")
        vocabSize = try int("vocab_size")
        maxPositionEmbeddings = try int("max_position_embeddings", default: isMosaic ? 512 : nil)
        typeVocabSize = try int("type_vocab_size", default: 2)
        alibiStartingSize = try int("alibi_starting_size", default: 512)
        layerNormEps = try float("layer_norm_eps", default: 1e-12)
        initializerRange = try float("initializer_range", default: 0.02)
        padTokenId = try int("pad_token_id", default: 0)
        hiddenDropout = try float("hidden_dropout_prob", default: 0.1)
        attentionDropout = try float("attention_probs_dropout_prob", default: 0.1)
        guard heads > 0, hidden > 0, hidden % heads == 0 else {
            throw InputError(file: file, field: "num_attention_heads", reason: "hidden_size \(hidden) is not a positive multiple of \(heads) heads")
        }
        guard vocabSize > 0 else { throw InputError(file: file, field: "vocab_size", reason: "must be positive") }
        guard typeVocabSize > 0 else { throw InputError(file: file, field: "type_vocab_size", reason: "must be positive") }
        if let act = obj["hidden_act"] as? String, !["gelu", "gelu_python"].contains(act) {
            throw InputError(file: file, field: "hidden_act", reason: "unsupported activation '\(act)' (only exact GELU)")
        }
    }

    /// A fresh config of either architecture (used by --init-random and tests).
    public init(mosaic: Bool, hidden: Int, layers: Int, heads: Int, intermediate: Int, vocabSize: Int = 30528,
                maxPositionEmbeddings: Int = 512, alibiStartingSize: Int = 512, initializerRange: Float = 0.02) {
        var raw: [String: Any] = [
            "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
            "intermediate_size": intermediate, "vocab_size": vocabSize, "max_position_embeddings": maxPositionEmbeddings,
            "type_vocab_size": 2, "layer_norm_eps": 1e-12, "initializer_range": Double(initializerRange),
            "hidden_act": "gelu", "model_type": "bert", "pad_token_id": 0,
            "attention_probs_dropout_prob": 0.0, "hidden_dropout_prob": 0.0,
        ]
        if mosaic { raw["alibi_starting_size"] = alibiStartingSize }
        try! self.init(json: raw)
    }

    /// The config as pretty-printed JSON (the raw object, so unknown fields survive).
    public func jsonData() throws -> Data {
        try JSONSerialization.data(withJSONObject: raw, options: [.prettyPrinted, .sortedKeys])
    }
}
