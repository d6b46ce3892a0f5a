// A sentence-transformers model directory, read and written exactly as Python's library lays it out:
//   config.json, model.safetensors, vocab.txt, tokenizer_config.json, special_tokens_map.json,
//   modules.json (Transformer → Pooling(mean) → Normalize), sentence_bert_config.json,
//   config_sentence_transformers.json, 1_Pooling/config.json, 2_Normalize/.
// Writes go to a temporary sibling directory that is renamed into place, so a reader never sees half a model.
import Foundation
import LodestoneText

public enum ModelDirectoryError: Error, CustomStringConvertible {
    case invalid(file: String, field: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalid(file, field, reason): return "\(file): field \(field): \(reason)"
        case let .writeFailed(path, reason): return "\(path): cannot write model directory: \(reason)"
        }
    }
}

public struct SentenceTransformerDirectory {
    public var config: EncoderConfig
    /// Tensors under their upstream names; the MLM head (`cls.*`) is dropped on write.
    public var weights: [(String, TensorData)]
    public var tokenizer: WordPieceTokenizer
    public var maxSeqLength: Int

    public init(config: EncoderConfig, weights: [(String, TensorData)], tokenizer: WordPieceTokenizer, maxSeqLength: Int) {
        self.config = config
        self.weights = weights
        self.tokenizer = tokenizer
        self.maxSeqLength = maxSeqLength
    }

    // MARK: reading

    /// Reads config, weights (any form `loadWeights` knows), tokenizer and max_seq_length.
    public static func read(_ directory: URL) throws -> SentenceTransformerDirectory {
        let config = try EncoderConfig(contentsOf: directory.appendingPathComponent("config.json"))
        try checkPooling(directory)
        let weights = try loadWeights(directory: directory).sorted { $0.key < $1.key }
        let tokenizer = try WordPieceTokenizer(directory: directory)
        return SentenceTransformerDirectory(config: config, weights: weights, tokenizer: tokenizer,
                                            maxSeqLength: try maxSeqLength(directory, config: config))
    }

    /// `sentence_bert_config.json`'s max_seq_length; without it, what the architecture allows (512 at most).
    static func maxSeqLength(_ directory: URL, config: EncoderConfig) throws -> Int {
        let url = directory.appendingPathComponent("sentence_bert_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            return config.isMosaic ? 512 : min(512, config.maxPositionEmbeddings)
        }
        let object = try jsonObject(url)
        guard let n = object["max_seq_length"] as? Int, n >= 2 else {
            throw ModelDirectoryError.invalid(file: url.path, field: "max_seq_length", reason: "missing or not an integer ≥ 2")
        }
        return n
    }

    /// The encoder pools by mean: refuse directories whose pooling says otherwise.
    static func checkPooling(_ directory: URL) throws {
        let url = directory.appendingPathComponent("1_Pooling/config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let object = try jsonObject(url)
        guard object["pooling_mode_mean_tokens"] as? Bool == true else {
            throw ModelDirectoryError.invalid(file: url.path, field: "pooling_mode_mean_tokens",
                                              reason: "only mean pooling is supported")
        }
    }

    static func jsonObject(_ url: URL) throws -> [String: Any] {
        guard let data = try? Data(contentsOf: url),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelDirectoryError.invalid(file: url.path, field: "(file)", reason: "not a readable JSON object")
        }
        return object
    }

    // MARK: writing

    /// Writes the whole directory atomically to `directory` (replacing any previous one).
    public func write(to directory: URL) throws {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).partial-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            try writeFiles(into: staging)
            if fm.fileExists(atPath: directory.path) {
                let old = parent.appendingPathComponent(".\(directory.lastPathComponent).old-\(UUID().uuidString)")
                try fm.moveItem(at: directory, to: old)
                try fm.moveItem(at: staging, to: directory)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: staging, to: directory)
            }
        } catch {
            try? fm.removeItem(at: staging)
            if error is ModelDirectoryError { throw error }
            throw ModelDirectoryError.writeFailed(path: directory.path, reason: "\(error)")
        }
    }

    private func writeFiles(into dir: URL) throws {
        try config.jsonData().write(to: dir.appendingPathComponent("config.json"))
        let kept = weights.filter { !$0.0.hasPrefix("cls.") }
        try SafeTensors.write(kept, to: dir.appendingPathComponent("model.safetensors"), metadata: ["format": "pt"])
        try (tokenizer.vocabulary.tokens.joined(separator: "\n") + "\n")
            .write(to: dir.appendingPathComponent("vocab.txt"), atomically: false, encoding: .utf8)
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
        try writeJSON(["prompts": [String: String](), "default_prompt_name": NSNull(), "similarity_fn_name": "cosine"],
                      dir.appendingPathComponent("config_sentence_transformers.json"))
        let pooling = dir.appendingPathComponent("1_Pooling")
        try FileManager.default.createDirectory(at: pooling, withIntermediateDirectories: true)
        try writeJSON([
            "word_embedding_dimension": config.hidden, "pooling_mode_cls_token": false,
            "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false,
            "pooling_mode_mean_sqrt_len_tokens": false, "pooling_mode_weightedmean_tokens": false,
            "pooling_mode_lasttoken": false, "include_prompt": true,
        ], pooling.appendingPathComponent("config.json"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("2_Normalize"), withIntermediateDirectories: true)
    }

    private func writeJSON(_ object: Any, _ url: URL) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    }
}
