// From token embeddings to one sentence embedding, as a sentence-transformers directory asks: the Pooling
// module's modes (1_Pooling/config.json, either the boolean `pooling_mode_*_tokens` fields of sentence-transformers
// 2.x–5.x or the `pooling_mode` string/list of 6.x), `include_prompt`, and the modules after it in modules.json
// (Dense, Normalize), applied in order as sentence-transformers does.
// Several modes are concatenated in the order the config gives them (the boolean fields in sentence-transformers'
// fixed order), as its Pooling module does.
import Foundation
import LodestoneBase

public struct SentencePooling: Equatable, Sendable {
    public enum Mode: String, CaseIterable, Sendable {
        case cls, max, mean
        case meanSqrtLength = "mean_sqrt_len_tokens"
        case weightedMean = "weightedmean"
        case lastToken = "lasttoken"

        /// The 2.x–5.x boolean field of each mode, in the order sentence-transformers concatenates them.
        static let legacyFields: [(String, Mode)] = [
            ("pooling_mode_cls_token", .cls), ("pooling_mode_max_tokens", .max), ("pooling_mode_mean_tokens", .mean),
            ("pooling_mode_mean_sqrt_len_tokens", .meanSqrtLength), ("pooling_mode_weightedmean_tokens", .weightedMean),
            ("pooling_mode_lasttoken", .lastToken),
        ]
    }

    public var modes: [Mode] = [.mean]
    /// When false, the prompt's tokens ([CLS] included) are left out of the pooling.
    public var includePrompt = true
    /// The modules.json entries after the Pooling module, applied in order to the pooled vector.
    public var head: [HeadModule] = [.normalize]

    /// A module that sentence-transformers applies to the sentence embedding after pooling.
    public enum HeadModule: Equatable, Sendable {
        case dense(DenseLayer)
        /// L2 normalization, as torch's F.normalize (eps 1e-12).
        case normalize
    }

    public init(modes: [Mode] = [.mean], includePrompt: Bool = true, normalize: Bool = true) {
        self.modes = modes; self.includePrompt = includePrompt; self.head = normalize ? [.normalize] : []
    }

    public init(modes: [Mode], includePrompt: Bool = true, head: [HeadModule]) {
        self.modes = modes; self.includePrompt = includePrompt; self.head = head
    }

    /// The modules after the encoder, as "mean → Dense(64→16, Tanh) → Normalize".
    public var summary: String {
        ([modes.map(\.rawValue).joined(separator: "+")] + head.map { module in
            switch module {
            case .dense(let d): return "Dense(\(d.inFeatures)→\(d.outFeatures), \(d.activation.rawValue.split(separator: ".").last ?? ""))"
            case .normalize: return "Normalize"
            }
        }).joined(separator: " → ")
    }

    /// The model ends in a Normalize module: its embeddings have unit length, so a dot product is a cosine.
    public var normalize: Bool { head.last == .normalize }

    /// What the encoder's fused mean-pool-and-normalize computes.
    public var isNormalizedMean: Bool { modes == [.mean] && head == [.normalize] }

    /// Reads the modules that turn token embeddings into the sentence embedding: modules.json (Transformer →
    /// Pooling → any of Dense, Normalize, Dropout), the Pooling config and each Dense module's folder. A directory
    /// without modules.json is mean-pooled and normalized. `hidden`, when given, is the encoder's width, which the
    /// Pooling config's `word_embedding_dimension` must equal. A module type not implemented here, a missing
    /// folder or config, or a Pooling with every mode off is one error naming the file and the field.
    public static func read(directory: URL, hidden: Int? = nil) throws -> SentencePooling {
        let modulesURL = directory.appendingPathComponent("modules.json")
        guard FileManager.default.fileExists(atPath: modulesURL.path) else {
            let legacy = directory.appendingPathComponent("1_Pooling")
            return Directory.exists(legacy.path) ? try readPoolingConfig(folder: legacy, hidden: hidden, head: [.normalize]).pooling : SentencePooling()
        }
        let file = modulesURL.path
        guard let modules = (try? JSONSerialization.jsonObject(with: try readWholeFile(file))) as? [[String: Any]] else {
            throw InputError(file: file, reason: "not a JSON list of modules")
        }
        func type(_ i: Int) -> String { modules[i]["type"] as? String ?? "" }
        // 2.x names modules `sentence_transformers.models.Pooling`, 6.x `sentence_transformers.….pooling.Pooling`.
        func kind(_ i: Int) -> String { type(i).split(separator: ".").last.map(String.init) ?? "" }
        func folder(_ i: Int) throws -> URL {
            let path = modules[i]["path"] as? String ?? ""
            let url = directory.appendingPathComponent(path)
            guard !path.isEmpty, Directory.exists(url.path) else {
                throw InputError(file: file, field: "path", reason: "module \(i) (\(kind(i))): no folder '\(path)' in \(directory.path)")
            }
            return url
        }
        func unsupported(_ i: Int, _ why: String) -> InputError {
            InputError(file: file, field: "type", reason: "module \(i) is '\(type(i))': \(why)")
        }
        guard !modules.isEmpty, kind(0) == "Transformer" else {
            throw modules.isEmpty ? InputError(file: file, reason: "no modules") : unsupported(0, "not implemented (the first module must be a Transformer)")
        }
        guard modules.count > 1, kind(1) == "Pooling" else {
            throw modules.count > 1 ? unsupported(1, "not implemented (a Pooling module must follow the Transformer)")
                : InputError(file: file, reason: "no Pooling module after the Transformer")
        }
        let poolingFolder = try folder(1)
        var (pooling, wordDimension) = try readPoolingConfig(folder: poolingFolder, hidden: hidden, head: [])
        var width = pooling.dimension(hidden: hidden ?? wordDimension ?? 0)
        for i in modules.indices.dropFirst(2) {
            switch kind(i) {
            case "Dense":
                let dense = try DenseLayer.read(directory: try folder(i), inputWidth: width)
                pooling.head.append(.dense(dense))
                width = dense.outFeatures
            case "Normalize": pooling.head.append(.normalize)
            case "Dropout": break   // the identity at inference
            default: throw unsupported(i, "not implemented (after Pooling: Dense, Normalize, Dropout)")
            }
        }
        return pooling
    }

    /// The Pooling module's config.json: its modes (6.x's `pooling_mode` or the boolean fields), `include_prompt`,
    /// and `word_embedding_dimension` (returned too), checked against `hidden`.
    static func readPoolingConfig(folder: URL, hidden: Int?, head: [HeadModule]) throws -> (pooling: SentencePooling, wordDimension: Int?) {
        let url = folder.appendingPathComponent("config.json")
        let object = try readJSONObject(url.path)
        var pooling = SentencePooling(modes: [], head: head)
        if let value = object["pooling_mode"] {
            let names = value as? [String] ?? (value as? String).map { [$0] }
            guard let names, !names.isEmpty else { throw InputError(file: url.path, field: "pooling_mode", reason: "not a mode name or a list of them") }
            pooling.modes = try names.map { name in
                guard let mode = Mode(rawValue: name) else {
                    throw InputError(file: url.path, field: "pooling_mode", reason: "unknown mode '\(name)' (known: \(Mode.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return mode
            }
        } else {
            pooling.modes = Mode.legacyFields.filter { object[$0.0] as? Bool == true }.map(\.1)
            guard !pooling.modes.isEmpty else {
                throw InputError(file: url.path, field: "pooling_mode_*", reason: "every pooling mode is off (set one of \(Mode.legacyFields.map(\.0).joined(separator: ", ")) to true)")
            }
        }
        if let include = object["include_prompt"] {
            guard let flag = include as? Bool else { throw InputError(file: url.path, field: "include_prompt", reason: "not true or false") }
            pooling.includePrompt = flag
        }
        if let dimension = object["word_embedding_dimension"] {
            guard let n = dimension as? Int, n >= 1 else {
                throw InputError(file: url.path, field: "word_embedding_dimension", reason: "not a positive integer")
            }
            if let hidden, n != hidden {
                throw InputError(file: url.path, field: "word_embedding_dimension", reason: "\(n), but the encoder's hidden_size is \(hidden)")
            }
            return (pooling, n)
        }
        return (pooling, nil)
    }

    /// One text's sentence embedding from its last hidden states (`length` rows of `dim`), the first `skip`
    /// tokens (a prompt) left out.
    public func pool(_ tokens: [Float], length: Int, dim: Int, skip: Int = 0) -> [Float] {
        let first = min(skip, length)
        let kept = length - first
        func row(_ i: Int) -> ArraySlice<Float> { tokens[(i * dim)..<((i + 1) * dim)] }
        var out: [Float] = []
        out.reserveCapacity(dim * modes.count)
        for mode in modes {
            switch mode {
            case .cls:
                // The first token still in the mask ([CLS], or the first after an excluded prompt).
                out += row(kept > 0 ? first : 0)
            case .lastToken:
                out += kept > 0 ? Array(row(length - 1)) : [Float](repeating: 0, count: dim)
            case .max:
                var m = [Float](repeating: -.infinity, count: dim)
                for i in first..<length { for (d, v) in row(i).enumerated() where v > m[d] { m[d] = v } }
                out += m
            case .mean, .meanSqrtLength, .weightedMean:
                var sum = [Double](repeating: 0, count: dim), weights = 0.0
                for i in first..<length {
                    let w = mode == .weightedMean ? Double(i + 1) : 1
                    for (d, v) in row(i).enumerated() { sum[d] += w * Double(v) }
                    weights += w
                }
                let denominator = Swift.max(weights, 1e-9)
                let scale = mode == .meanSqrtLength ? denominator.squareRoot() : denominator
                out += sum.map { Float($0 / scale) }
            }
        }
        return applyHead(out)
    }

    /// The modules after pooling (Dense, Normalize) applied to one pooled vector.
    public func applyHead(_ pooled: [Float]) -> [Float] {
        head.reduce(pooled) { x, module in
            switch module {
            case .dense(let layer): return layer.apply(x)
            case .normalize: return l2Normalized(x)
            }
        }
    }

    /// The embedding's width for a model of hidden size `dim`: the last Dense module's, else the pooling's.
    public func dimension(hidden dim: Int) -> Int {
        for case .dense(let layer) in head.reversed() { return layer.outFeatures }
        return dim * modes.count
    }
}

/// `v / max(‖v‖, 1e-12)`, as torch's F.normalize: cosine similarity is then a dot product.
public func l2Normalized(_ v: [Float]) -> [Float] {
    let norm = Swift.max(v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1e-12)
    return v.map { $0 / norm }
}

/// Prompts from config_sentence_transformers.json: named texts prepended to inputs, and the one used by default.
public struct SentencePrompts: Equatable, Sendable {
    public var prompts: [String: String] = [:]
    public var defaultName: String?
    public init(prompts: [String: String] = [:], defaultName: String? = nil) { self.prompts = prompts; self.defaultName = defaultName }

    public static func read(directory: URL) throws -> SentencePrompts {
        let url = directory.appendingPathComponent("config_sentence_transformers.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return SentencePrompts() }
        let object = try readJSONObject(url.path)
        var out = SentencePrompts()
        if let prompts = object["prompts"] {
            guard let map = prompts as? [String: String] else { throw InputError(file: url.path, field: "prompts", reason: "not an object of strings") }
            out.prompts = map
        }
        if let name = object["default_prompt_name"] as? String {
            guard out.prompts[name] != nil else { throw InputError(file: url.path, field: "default_prompt_name", reason: "names '\(name)', which is not in prompts") }
            out.defaultName = name
        }
        return out
    }

    /// The text of prompt `name`, or a one-line error listing the names there are.
    public func text(named name: String, file: String) throws -> String {
        guard let text = prompts[name] else {
            let known = prompts.keys.sorted()
            throw InputError(file: file, field: "prompts", reason: "no prompt named '\(name)'" + (known.isEmpty ? " (the model has none)" : " (there is \(known.joined(separator: ", ")))"))
        }
        return text
    }
}
