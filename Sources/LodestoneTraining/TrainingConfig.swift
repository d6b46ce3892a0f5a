import Foundation
import LodestoneBase
import LodestoneModel

/// Training.py's hyperparameters. Defaults are the original's; a JSON file (`--config`) may set any subset under
/// the snake_case names below, and command-line flags override both.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var batchSize = 16
    /// Texts are cut to this many space-separated words, and tokenized to at most this many tokens.
    public var maxSeqLength = 2048
    public var cycles = 2
    public var chunks = 50
    public var epochs = 2
    public var stepsPerEpoch = 10_000
    public var learningRate = 2e-5
    /// Warmup of the first epoch's schedule only (the original passed it to the first `fit` call alone).
    public var warmupSteps = 500
    public var weightDecay = 0.01
    public var maxGradNorm = 1.0
    public var scale = 20.0
    /// MNRL in both directions (anchors → positives and positives → anchors), all-MiniLM's recipe.
    public var symmetricLoss = false
    /// The objective: MNRL (the original's), or MNRL under MatryoshkaLoss at `matryoshkaDims`.
    public var loss = LossKind.mnrl
    /// Matryoshka widths (any order, each at most the embedding dimension); only with `loss` matryoshka.
    public var matryoshkaDims: [Int]?
    /// One weight per width of `matryoshkaDims`, in the same order; nil: all 1.
    public var matryoshkaWeights: [Double]?
    /// GIST's guide: a sentence-transformers model directory; only with `loss` gist.
    public var guideModel: String?
    /// GIST's temperature (nil: sentence-transformers' 0.01); only with `loss` gist.
    public var gistTemperature: Double?
    /// GIST's margin (nil: 0); only with `loss` gist.
    public var gistMargin: Double?
    /// How GIST applies its margin: absolute (nil's meaning) or relative; only with `loss` gist.
    public var gistMarginStrategy: String?
    /// AdamW's epsilon: 1e-6, as the transformers AdamW that the original's sentence-transformers fit used.
    public var adamEps = 1e-6
    public var seed: UInt64 = 42
    /// Stop (with a checkpoint) once this many steps have run in total, failed epochs included; nil = no limit.
    public var maxSteps: Int?
    /// An epoch with no finished step for this many seconds fails (the original's hand-pressed Ctrl-C).
    public var stallTimeout = 600.0
    /// Also checkpoint every N steps inside an epoch (0 = only after epochs), so a kill loses at most N steps.
    public var checkpointEvery = 0
    /// Dropout while training: the model's config.json rates (auto, the original's: sentence-transformers fit in
    /// train mode), none (off), or one probability for hidden and attention dropout.
    public var dropout = DropoutSetting.auto
    /// At most this many texts per pass with activations (cached MNRL); nil: as many as the memory budget allows.
    public var miniBatchSize: Int?
    /// The memory the trainer plans to stay within, as `6G` or `512M`; nil: `defaultMemoryBudget()`.
    public var memoryBudget: String?

    public init() {}

    /// Every field under its config-file name with its value as a config file writes it, for the model card.
    public var cardRows: [(name: String, value: String)] {
        guard let data = try? JSONEncoder().encode(self),
              let fields = try? JSONDecoder().decode([String: ConfigScalar].self, from: data) else { return [] }
        return fields.keys.sorted().map { ($0, fields[$0]!.text) }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case batchSize = "batch_size", maxSeqLength = "max_seq_length", cycles, chunks, epochs
        case stepsPerEpoch = "steps_per_epoch", learningRate = "lr", warmupSteps = "warmup_steps"
        case weightDecay = "weight_decay", maxGradNorm = "max_grad_norm", scale, seed, maxSteps = "max_steps"
        case symmetricLoss = "symmetric_loss", adamEps = "adam_eps"
        case stallTimeout = "stall_timeout", checkpointEvery = "checkpoint_every", dropout
        case miniBatchSize = "mini_batch_size", memoryBudget = "memory_budget"
        case loss, matryoshkaDims = "matryoshka_dims", matryoshkaWeights = "matryoshka_weights"
        case guideModel = "guide_model", gistTemperature = "gist_temperature", gistMargin = "gist_margin"
        case gistMarginStrategy = "gist_margin_strategy"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        let d = TrainingConfig()
        batchSize = try get(.batchSize, d.batchSize); maxSeqLength = try get(.maxSeqLength, d.maxSeqLength)
        cycles = try get(.cycles, d.cycles); chunks = try get(.chunks, d.chunks); epochs = try get(.epochs, d.epochs)
        stepsPerEpoch = try get(.stepsPerEpoch, d.stepsPerEpoch); learningRate = try get(.learningRate, d.learningRate)
        warmupSteps = try get(.warmupSteps, d.warmupSteps); weightDecay = try get(.weightDecay, d.weightDecay)
        maxGradNorm = try get(.maxGradNorm, d.maxGradNorm); scale = try get(.scale, d.scale); seed = try get(.seed, d.seed)
        symmetricLoss = try get(.symmetricLoss, d.symmetricLoss); adamEps = try get(.adamEps, d.adamEps)
        maxSteps = try c.decodeIfPresent(Int.self, forKey: .maxSteps)
        stallTimeout = try get(.stallTimeout, d.stallTimeout); checkpointEvery = try get(.checkpointEvery, d.checkpointEvery)
        dropout = try get(.dropout, d.dropout)
        miniBatchSize = try c.decodeIfPresent(Int.self, forKey: .miniBatchSize)
        memoryBudget = try c.decodeIfPresent(String.self, forKey: .memoryBudget)
        loss = try get(.loss, d.loss)
        matryoshkaDims = try c.decodeIfPresent([Int].self, forKey: .matryoshkaDims)
        matryoshkaWeights = try c.decodeIfPresent([Double].self, forKey: .matryoshkaWeights)
        guideModel = try c.decodeIfPresent(String.self, forKey: .guideModel)
        gistTemperature = try c.decodeIfPresent(Double.self, forKey: .gistTemperature)
        gistMargin = try c.decodeIfPresent(Double.self, forKey: .gistMargin)
        gistMarginStrategy = try c.decodeIfPresent(String.self, forKey: .gistMarginStrategy)
    }

    /// Reads a JSON config; unknown keys and wrong types are errors naming the file and the field.
    public static func load(_ url: URL) throws -> TrainingConfig {
        let data = try readWholeFile(url.path)   // "path: cannot read: is a directory", and the like
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TrainingError.config(file: url.path, field: nil, reason: "not a JSON object")
            }
            object = parsed
        } catch let error as TrainingError { throw error } catch {
            throw TrainingError.config(file: url.path, field: nil, reason: jsonSyntaxProblem(error, in: data))
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) && !$0.hasPrefix("_") }) {
            throw TrainingError.config(file: url.path, field: unknown, reason: "unknown field (known: \(known.sorted().joined(separator: ", ")))")
        }
        let config: TrainingConfig
        do { config = try JSONDecoder().decode(TrainingConfig.self, from: data) } catch let DecodingError.typeMismatch(_, ctx) {
            throw TrainingError.config(file: url.path, field: ctx.codingPath.last?.stringValue, reason: "wrong type: \(ctx.debugDescription)")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw TrainingError.config(file: url.path, field: ctx.codingPath.last?.stringValue, reason: ctx.debugDescription)
        } catch {
            throw TrainingError.config(file: url.path, field: nil, reason: "\(error)")
        }
        try config.validate(source: url.path)
        return config
    }

    /// Rejects values the loop cannot run with, naming the field.
    public func validate(source: String = "flags") throws {
        func check(_ ok: Bool, _ field: CodingKeys, _ why: String) throws {
            if !ok { throw TrainingError.config(file: source, field: field.rawValue, reason: why) }
        }
        try check(batchSize >= 1, .batchSize, "must be at least 1")
        try check(maxSeqLength >= 2, .maxSeqLength, "must be at least 2 (a text's [CLS] and [SEP] take two tokens)")
        try check(cycles >= 1, .cycles, "must be at least 1")
        try check(chunks >= 1, .chunks, "must be at least 1")
        try check(epochs >= 1, .epochs, "must be at least 1")
        try check(stepsPerEpoch >= 1, .stepsPerEpoch, "must be at least 1")
        try check(learningRate > 0 && learningRate.isFinite, .learningRate, "must be positive")
        try check(warmupSteps >= 0, .warmupSteps, "must not be negative")
        try check(weightDecay >= 0 && weightDecay.isFinite, .weightDecay, "must be a number ≥ 0")
        try check(maxGradNorm > 0 && maxGradNorm.isFinite, .maxGradNorm, "must be positive")
        try check(scale > 0 && scale.isFinite, .scale, "must be positive")
        try check(adamEps > 0 && adamEps.isFinite, .adamEps, "must be positive")
        try check(maxSteps.map { $0 >= 0 } ?? true, .maxSteps, "must not be negative")
        try check(stallTimeout > 0 && stallTimeout.isFinite, .stallTimeout, "must be positive")
        try check(checkpointEvery >= 0, .checkpointEvery, "must not be negative")
        try check(miniBatchSize.map { $0 >= 1 } ?? true, .miniBatchSize, "must be at least 1")
        if let memoryBudget {
            try check(parseMemorySize(memoryBudget) != nil, .memoryBudget, "expected a size of at least 1 byte such as 6G or 512M, found '\(memoryBudget)'")
        }
        if case .rate(let p) = dropout { try check(p >= 0 && p < 1, .dropout, "must be auto, off or a probability in [0, 1), found \(p)") }
        try validateLoss(check)
    }

    /// The loss fields agree: Matryoshka needs its widths and GIST its guide, and each loss's fields go only with it.
    private func validateLoss(_ check: (Bool, CodingKeys, String) throws -> Void) throws {
        if loss != .matryoshka {
            try check(matryoshkaDims == nil, .matryoshkaDims, "only with loss matryoshka (--loss matryoshka)")
            try check(matryoshkaWeights == nil, .matryoshkaWeights, "only with loss matryoshka (--loss matryoshka)")
        }
        if loss != .gist {
            for (value, key) in [(guideModel as Any?, CodingKeys.guideModel), (gistTemperature, .gistTemperature),
                                 (gistMargin, .gistMargin), (gistMarginStrategy, .gistMarginStrategy)] {
                try check(value == nil, key, "only with loss gist (--loss gist)")
            }
        }
        switch loss {
        case .mnrl:
            break
        case .gist:
            try check(guideModel.map { !$0.isEmpty } ?? false, .guideModel, "loss gist needs its guide model (--guide-model DIR)")
            try check(gistTemperature.map { $0 > 0 && $0.isFinite } ?? true, .gistTemperature, "must be positive")
            try check(gistMargin.map { $0.isFinite } ?? true, .gistMargin, "must be a number")
            try check(gistMarginStrategy.map { GISTEmbedLoss.MarginStrategy(rawValue: $0) != nil } ?? true, .gistMarginStrategy,
                      "must be absolute or relative, found '\(gistMarginStrategy ?? "")'")
        case .matryoshka:
            guard let dims = matryoshkaDims else { return try check(false, .matryoshkaDims, "loss matryoshka needs its widths, e.g. 768,512,256,128,64") }
            try check(!dims.isEmpty && dims.allSatisfy { $0 > 0 }, .matryoshkaDims, "must be positive integers, found \(dims)")
            if let w = matryoshkaWeights {
                try check(w.count == dims.count, .matryoshkaWeights, "\(w.count) weight(s) for \(dims.count) dims")
                try check(w.allSatisfy { $0 >= 0 && $0.isFinite }, .matryoshkaWeights, "must be numbers ≥ 0, found \(w)")
            }
        }
    }

    /// The loss these fields describe. Widths past the embedding dimension are caught where the model is known
    /// (`problem(embeddingDimension:)`).
    public func embeddingLoss() -> any EmbeddingLoss {
        if loss == .gist {
            return GISTEmbedLoss(temperature: Float(gistTemperature ?? 0.01),
                                 marginStrategy: gistMarginStrategy.flatMap(GISTEmbedLoss.MarginStrategy.init) ?? .absolute,
                                 margin: Float(gistMargin ?? 0))
        }
        let mnrl = MultipleNegativesRankingLoss(scale: Float(scale), symmetric: symmetricLoss)
        guard loss == .matryoshka, let dims = matryoshkaDims else { return mnrl }
        return MatryoshkaLoss(inner: mnrl, dims: dims, weights: matryoshkaWeights?.map { Float($0) })
    }

    /// Why these settings cannot train a model whose embeddings are `dimension` wide (nil: they can).
    public func problem(embeddingDimension dimension: Int) -> String? {
        guard loss == .matryoshka, let d = matryoshkaDims?.first(where: { $0 > dimension }) else { return nil }
        return "\(d) is larger than the model's embedding dimension \(dimension)"
    }

    /// `memory_budget` in bytes, or the default share of this machine's memory.
    public var memoryBudgetBytes: Int { memoryBudget.flatMap(parseMemorySize) ?? defaultMemoryBudget() }

    /// Steps of the whole schedule (2 × 50 × 2 × 10,000 = 2,000,000 for the original).
    public var plannedSteps: Int { cycles * chunks * epochs * stepsPerEpoch }
}

/// `loss`: the training objective.
public enum LossKind: String, Codable, CaseIterable, Sendable {
    /// MultipleNegativesRankingLoss (with `symmetric_loss`, its symmetric form).
    case mnrl
    /// MatryoshkaLoss around that MNRL.
    case matryoshka
    /// GISTEmbedLoss: MNRL-like, with in-batch false negatives dropped by a guide model (`guide_model`).
    case gist
}

/// `dropout`: "auto" (the rates in the model's config.json), "off", or a probability P (hidden and attention P).
/// In JSON a string or a number; on the command line the same words.
public enum DropoutSetting: Codable, Equatable, Sendable, CustomStringConvertible {
    case auto, off, rate(Double)

    /// "auto", "off" or a number; nil otherwise (the range is checked by `TrainingConfig.validate`).
    public init?(_ text: String) {
        switch text {
        case "auto": self = .auto
        case "off": self = .off
        default:
            guard let p = Double(text), p.isFinite else { return nil }
            self = .rate(p)
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .off: return "off"
        case .rate(let p): return "\(p)"
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let p = try? c.decode(Double.self) { self = .rate(p); return }
        let text = try c.decode(String.self)
        guard let setting = DropoutSetting(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected \"auto\", \"off\" or a probability, found \"\(text)\"")
        }
        self = setting
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if case .rate(let p) = self { try c.encode(p) } else { try c.encode(description) }
    }

    /// The rates for a model: auto takes its config.json's (which must lie in [0, 1)).
    public func rates(for config: EncoderConfig) throws -> DropoutRates {
        switch self {
        case .off: return .none
        case .rate(let p): return DropoutRates(hidden: Float(p), attention: Float(p))
        case .auto:
            for (field, p) in [("hidden_dropout_prob", config.hiddenDropout), ("attention_probs_dropout_prob", config.attentionDropout)]
            where !(p >= 0 && p < 1) {
                throw TrainingError.config(file: "config.json", field: field, reason: "dropout \(p) outside [0, 1) (pass --dropout off or P)")
            }
            return DropoutRates(config: config)
        }
    }
}

/// Errors of the training step; each description is one line naming what failed and where.
public enum TrainingError: Error, CustomStringConvertible {
    case config(file: String, field: String?, reason: String)
    case data(key: String, line: Int, reason: String)
    case noData(String)
    case checkpoint(path: String, reason: String)

    public var description: String {
        switch self {
        case .config(let f, let field, let r): return "\(f)\(field.map { ": field '\($0)'" } ?? ""): \(r)"
        case .data(let k, let l, let r): return "\(k):\(l): \(r)"
        case .noData(let r): return "no training data: \(r)"
        case .checkpoint(let p, let r): return "checkpoint \(p): \(r)"
        }
    }
}

/// Half of physical memory, shared by the ranks `mpirun` started on this host: room for the OS, page cache and
/// whatever else runs, while a step's activations may still take gigabytes.
public func defaultMemoryBudget() -> Int {
    let env = ProcessInfo.processInfo.environment
    let localRanks = max(1, Int(env["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? env["MPI_LOCALNRANKS"] ?? "") ?? 1)
    return Int(ProcessInfo.processInfo.physicalMemory / 2) / localRanks
}

/// One value of a config file as JSON holds it: JSONDecoder tells `false` from `0`, which JSONSerialization does not.
private enum ConfigScalar: Decodable {
    case bool(Bool), int(Int), double(Double), text(String), list([ConfigScalar]), other

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .text(s) }
        else if let l = try? c.decode([ConfigScalar].self) { self = .list(l) }
        else { self = .other }
    }

    var text: String {
        switch self {
        case .bool(let b): return "\(b)"
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .text(let s): return s
        case .list(let l): return l.map(\.text).joined(separator: ",")
        case .other: return "(see the config file)"
        }
    }
}
