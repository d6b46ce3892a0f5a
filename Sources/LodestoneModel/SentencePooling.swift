// From token embeddings to one sentence embedding, as a sentence-transformers directory asks: the Pooling
// module's modes (1_Pooling/config.json, either the boolean `pooling_mode_*_tokens` fields of sentence-transformers
// 2.x–5.x or the `pooling_mode` string/list of 6.x), `include_prompt`, and whether modules.json ends in Normalize.
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
    /// modules.json has a Normalize module after the pooling (L2, as torch's F.normalize).
    public var normalize = true

    public init(modes: [Mode] = [.mean], includePrompt: Bool = true, normalize: Bool = true) {
        self.modes = modes; self.includePrompt = includePrompt; self.normalize = normalize
    }

    /// What the encoder's fused mean-pool-and-normalize computes.
    public var isNormalizedMean: Bool { modes == [.mean] && normalize }

    /// Reads the Pooling config named by modules.json (default `1_Pooling/config.json`) and whether a Normalize
    /// module follows. A directory without modules.json or Pooling config is mean-pooled and normalized.
    public static func read(directory: URL) throws -> SentencePooling {
        var pooling = SentencePooling()
        var poolingPath = "1_Pooling"
        let modulesURL = directory.appendingPathComponent("modules.json")
        if FileManager.default.fileExists(atPath: modulesURL.path) {
            guard let modules = (try? JSONSerialization.jsonObject(with: try readWholeFile(modulesURL.path))) as? [[String: Any]] else {
                throw InputError(file: modulesURL.path, reason: "not a JSON list of modules")
            }
            let types = modules.map { $0["type"] as? String ?? "" }
            if let p = modules.first(where: { ($0["type"] as? String ?? "").hasSuffix("Pooling") })?["path"] as? String { poolingPath = p }
            pooling.normalize = types.contains { $0.hasSuffix("Normalize") }
        }
        let url = directory.appendingPathComponent(poolingPath).appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return pooling }
        let object = try readJSONObject(url.path)
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
            let on = Mode.legacyFields.filter { object[$0.0] as? Bool == true }.map(\.1)
            pooling.modes = on.isEmpty ? [.mean] : on
        }
        if let include = object["include_prompt"] {
            guard let flag = include as? Bool else { throw InputError(file: url.path, field: "include_prompt", reason: "not true or false") }
            pooling.includePrompt = flag
        }
        return pooling
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
        guard normalize else { return out }
        let norm = Swift.max(out.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return out.map { $0 / norm }
    }

    /// The embedding's width for a model of hidden size `dim`.
    public func dimension(hidden dim: Int) -> Int { dim * modes.count }
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
