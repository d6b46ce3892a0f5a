// A sentence-transformers model directory, read and written exactly as Python's library lays it out:
//   config.json, model.safetensors, vocab.txt, tokenizer_config.json, special_tokens_map.json,
//   modules.json (Transformer → Pooling(mean) → Normalize), sentence_bert_config.json,
//   config_sentence_transformers.json, 1_Pooling/config.json, 2_Normalize/; for MosaicBERT also its Python
//   modules (PythonModeling), which config.json's auto_map names, for `trust_remote_code=True`.
// Writes stage a hidden sibling directory, fsync it and rename it into place (LodestoneBase's
// Directory.writeAtomically), so a reader never sees half a model and a power loss never leaves one; only an
// empty directory or a model directory is ever replaced.
import Foundation
import LodestoneBase
import LodestoneText

public struct SentenceTransformerDirectory {
    public var config: EncoderConfig
    /// Tensors under their upstream names; the MLM head (`cls.*`) is dropped on write.
    public var weights: [(String, TensorData)]
    /// Written instead of `weights` when set: a trainer's weights streamed from its parameter buffer (saving a
    /// model then needs no copy of it in memory).
    public var streamedWeights: StreamedTensors?
    public var tokenizer: WordPieceTokenizer
    public var maxSeqLength: Int
    /// How token embeddings become the sentence embedding: pooling, then any Dense and Normalize modules (read;
    /// what this project writes is mean + Normalize).
    public var pooling = SentencePooling()
    public var prompts = SentencePrompts()
    /// What `write` puts in README.md with the model's own facts (nil: no README.md is written).
    public var card: ModelCard?
    /// The widths a Matryoshka loss trained (`matryoshka_dims` in config_sentence_transformers.json, a field
    /// sentence-transformers ignores): prefixes of the embedding usable on their own. nil: not trained so.
    public var matryoshkaDims: [Int]?

    public init(config: EncoderConfig, weights: [(String, TensorData)], tokenizer: WordPieceTokenizer, maxSeqLength: Int,
                pooling: SentencePooling = SentencePooling(), prompts: SentencePrompts = SentencePrompts()) {
        self.config = config
        self.weights = weights
        self.tokenizer = tokenizer
        self.maxSeqLength = maxSeqLength
        self.pooling = pooling
        self.prompts = prompts
    }

    // MARK: reading

    /// Reads config, weights (any form `loadWeights` knows), tokenizer, max_seq_length, pooling and prompts.
    public static func read(_ directory: URL) throws -> SentenceTransformerDirectory {
        try checkIsModelDirectory(directory)
        let config = try EncoderConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let pooling = try SentencePooling.read(directory: directory, hidden: config.hidden)
        let prompts = try SentencePrompts.read(directory: directory)
        let weights = try loadWeights(directory: directory).sorted { $0.key < $1.key }
        let tokenizer = try WordPieceTokenizer(directory: directory)
        var out = SentenceTransformerDirectory(config: config, weights: weights, tokenizer: tokenizer,
                                               maxSeqLength: try maxSeqLength(directory, config: config),
                                               pooling: pooling, prompts: prompts)
        out.matryoshkaDims = try matryoshkaDims(directory)
        return out
    }

    /// config_sentence_transformers.json's `matryoshka_dims`, if any: a list of positive integers.
    public static func matryoshkaDims(_ directory: URL) throws -> [Int]? {
        let url = directory.appendingPathComponent("config_sentence_transformers.json")
        guard FileManager.default.fileExists(atPath: url.path), let value = try readJSONObject(url.path)["matryoshka_dims"],
              !(value is NSNull) else { return nil }
        guard let dims = value as? [Int], !dims.isEmpty, dims.allSatisfy({ $0 > 0 }) else {
            throw InputError(file: url.path, field: "matryoshka_dims", reason: "not a list of positive integers")
        }
        return dims
    }

    /// `sentence_bert_config.json`'s max_seq_length (sentence-transformers up to 5.x writes it); without it (6.x),
    /// as sentence-transformers decides: the tokenizer's `model_max_length` capped at `max_position_embeddings`,
    /// else `max_position_embeddings`.
    static func maxSeqLength(_ directory: URL, config: EncoderConfig) throws -> Int {
        let url = directory.appendingPathComponent("sentence_bert_config.json")
        if FileManager.default.fileExists(atPath: url.path), let value = try readJSONObject(url.path)["max_seq_length"] {
            guard let n = value as? Int, n >= 2 else {
                throw InputError(file: url.path, field: "max_seq_length", reason: "not an integer ≥ 2")
            }
            return n
        }
        let tokenizerConfig = directory.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: tokenizerConfig.path),
           let n = try readJSONObject(tokenizerConfig.path)["model_max_length"] as? Int, n >= 2, n < 1_000_000 {   // HF writes 1e30 for "no limit"
            return min(n, config.maxPositionEmbeddings)
        }
        return config.maxPositionEmbeddings
    }

    /// A missing or mistyped model path gets one line saying so, not an error about a file inside it.
    public static func checkIsModelDirectory(_ directory: URL) throws {
        Directory.recoverInterruptedReplace(of: directory)
        let path = directory.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(file: path, reason: "no such model directory")
        }
        guard isDirectory.boolValue else { throw InputError(file: path, reason: "not a directory (a model is a directory with config.json)") }
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path) else {
            throw InputError(file: path, reason: "not a model directory: no config.json")
        }
    }

    /// Whether `directory` may be replaced by a model: it is empty, or it is a sentence-transformers model
    /// directory (modules.json and config.json). Anything else is the user's and is never deleted.
    public static func isReplaceable(_ directory: URL) -> Bool {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDirectory) else { return true }
        guard isDirectory.boolValue, let entries = try? fm.contentsOfDirectory(atPath: directory.path) else { return false }
        return entries.isEmpty || (entries.contains("modules.json") && entries.contains("config.json"))
    }

    // MARK: writing

    /// Writes the whole directory atomically and durably to `directory`, replacing a previous model there;
    /// refuses to replace anything else (see `isReplaceable`).
    public func write(to directory: URL) throws {
        try Directory.writeAtomically(to: directory, mayReplace: Self.isReplaceable) { staging in
            try writeFiles(into: staging)
            if let card {
                let name = directory.standardizedFileURL.lastPathComponent   // the card names the model by its directory
                try AtomicFile.write(Data(card.markdown(for: self, name: name).utf8), to: staging.appendingPathComponent("README.md"), durable: false)
            }
        }
    }

    private func writeFiles(into dir: URL) throws {
        // MosaicBERT loads in Python through our modules; classic BERT through stock transformers.
        try writeJSON(config.isMosaic ? PythonModeling.configForPython(config) : config.raw,
                      dir.appendingPathComponent("config.json"))
        if config.isMosaic { try PythonModeling.write(into: dir) }
        let file = dir.appendingPathComponent("model.safetensors")
        if let streamedWeights {
            try SafeTensors.write(streamedWeights.filter { !$0.hasPrefix("cls.") }, to: file, metadata: ["format": "pt"], durable: false)
        } else {
            try SafeTensors.write(withoutPretrainingHead(weights).kept, to: file, metadata: ["format": "pt"], durable: false)
        }
        try AtomicFile.write(Data((tokenizer.vocabulary.tokens.joined(separator: "\n") + "\n").utf8),
                             to: dir.appendingPathComponent("vocab.txt"), durable: false)
        let special: [String: Any] = ["unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                                      "cls_token": "[CLS]", "mask_token": "[MASK]"]
        var tokenizerConfig = special
        tokenizerConfig["do_lower_case"] = tokenizer.lowercase
        tokenizerConfig["tokenize_chinese_chars"] = true
        tokenizerConfig["strip_accents"] = NSNull()
        tokenizerConfig["clean_up_tokenization_spaces"] = true
        tokenizerConfig["model_max_length"] = maxSeqLength
        tokenizerConfig["tokenizer_class"] = "BertTokenizer"
        try writeJSON(tokenizerConfig, dir.appendingPathComponent("tokenizer_config.json"))
        try writeJSON(special, dir.appendingPathComponent("special_tokens_map.json"))
        try writeJSON([
            ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
            ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
            ["idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"],
        ], dir.appendingPathComponent("modules.json"))
        try writeJSON(["max_seq_length": maxSeqLength, "do_lower_case": false],
                      dir.appendingPathComponent("sentence_bert_config.json"))
        var stConfig: [String: Any] = ["prompts": [String: String](), "default_prompt_name": NSNull(), "similarity_fn_name": "cosine"]
        if let matryoshkaDims { stConfig["matryoshka_dims"] = matryoshkaDims }
        try writeJSON(stConfig, dir.appendingPathComponent("config_sentence_transformers.json"))
        let pooling = dir.appendingPathComponent("1_Pooling")
        try writeJSON([
            "word_embedding_dimension": config.hidden, "pooling_mode_cls_token": false,
            "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false,
            "pooling_mode_mean_sqrt_len_tokens": false, "pooling_mode_weightedmean_tokens": false,
            "pooling_mode_lasttoken": false, "include_prompt": true,
        ], pooling.appendingPathComponent("config.json"))
        try Directory.create(dir.appendingPathComponent("2_Normalize"))
    }

    private func writeJSON(_ object: Any, _ url: URL) throws {
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
                             to: url, durable: false)
    }
}

/// Splits off the pretraining (MLM) head, `cls.*`: a sentence encoder does not use it, and the original dropped it.
public func withoutPretrainingHead(_ weights: [(String, TensorData)]) -> (kept: [(String, TensorData)], dropped: Int) {
    let kept = weights.filter { !$0.0.hasPrefix("cls.") }
    return (kept, weights.count - kept.count)
}
