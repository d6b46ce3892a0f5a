// 04-training's hyperparameter flags, declared once: each one overrides the same field of `TrainingConfig`.
import ArgumentParser
import Foundation
import LodestoneCLI
import LodestoneCore

/// `--config FILE.json` and one flag per `TrainingConfig` field. The result: the original's defaults, then the
/// file, then the flags given.
public struct TrainingOverrides: ParsableArguments {
    @Option(help: "JSON file of hyperparameters (snake_case keys, see above).") public var config: String?

    @Option(parsing: .unconditional, help: "Pairs per batch (default 16).") public var batchSize: Int?
    @Option(parsing: .unconditional, help: "Words per text before tokenizing, and tokens per text (default 2048).") public var maxSeqLength: Int?
    @Option(parsing: .unconditional, help: "Cycles (default 2).") public var cycles: Int?
    @Option(parsing: .unconditional, help: "Chunks per cycle (default 50).") public var chunks: Int?
    @Option(parsing: .unconditional, help: "Epochs per chunk (default 2).") public var epochs: Int?
    @Option(parsing: .unconditional, help: "Steps per epoch (default 10000).") public var stepsPerEpoch: Int?
    @Option(parsing: .unconditional, help: "Peak learning rate (default 2e-5).") public var lr: Double?
    @Option(parsing: .unconditional, help: "Warmup steps of the first epoch (default 500).") public var warmupSteps: Int?
    @Option(parsing: .unconditional, help: "AdamW weight decay (default 0.01).") public var weightDecay: Double?
    @Option(parsing: .unconditional, help: "Gradient clipping norm (default 1.0).") public var maxGradNorm: Double?
    @Option(parsing: .unconditional, help: "MNRL scale (default 20).") public var scale: Double?
    @Flag(help: "Symmetric MNRL (both directions), all-MiniLM's recipe (default: off, as the original).")
    public var symmetricLoss = false
    @Option(parsing: .unconditional, help: "Loss: mnrl (default), matryoshka (MNRL at every width of --matryoshka-dims, summed) or gist (GISTEmbedLoss, with --guide-model).")
    public var loss: String?
    @Option(parsing: .unconditional, help: "Matryoshka widths, comma-separated, e.g. 768,512,256,128,64 (each at most the embedding dimension).")
    public var matryoshkaDims: String?
    @Option(parsing: .unconditional, help: "One weight per Matryoshka width, comma-separated (default: all 1).")
    public var matryoshkaWeights: String?
    @Option(parsing: .unconditional, help: "GIST's guide: a sentence-transformers model directory whose cosines drop in-batch false negatives.")
    public var guideModel: String?
    @Option(parsing: .unconditional, help: "GIST's temperature (default 0.01).") public var gistTemperature: Double?
    @Option(parsing: .unconditional, help: "GIST's margin (default 0).") public var gistMargin: Double?
    @Option(parsing: .unconditional, help: "GIST's margin strategy: absolute (default) or relative.") public var gistMarginStrategy: String?
    @Option(parsing: .unconditional, help: "AdamW epsilon (default 1e-6).") public var adamEps: Double?
    @Option(parsing: .unconditional, help: "Seed of the sampler (default 42).") public var seed: UInt64?
    @Option(parsing: .unconditional, help: "Stop with a checkpoint after this many steps in total (default: no limit).") public var maxSteps: Int?
    @Option(parsing: .unconditional, help: "Seconds without a finished step before the epoch fails (default 600).") public var stallTimeout: Double?
    @Option(parsing: .unconditional, help: "Also checkpoint every N steps inside an epoch (default 0: after epochs only).") public var checkpointEvery: Int?
    @Option(parsing: .unconditional, help: "Dropout while training: auto (the model's config.json: hidden_dropout_prob, attention_probs_dropout_prob; the default), off, or P (hidden and attention P).")
    public var dropout: String?
    @Option(parsing: .unconditional, help: "Texts per pass with activations, for cached MNRL (default: as many as --memory-budget allows; the whole batch when it fits).")
    public var miniBatchSize: Int?
    @Option(parsing: .unconditional, help: "Memory the trainer plans to stay within, e.g. 6G or 512M (default: half of physical memory, shared by the ranks on a host). A batch that would not fit is split into mini-batches (cached MNRL), never refused.")
    public var memoryBudget: String?

    public init() {}

    /// A bad value, given as a flag or in the `--config` file, is a usage error (exit 64, with the usage text):
    /// checked here, before any work.
    public func validate() throws {
        do { _ = try trainingConfig() } catch let TrainingError.config(file, field, reason) where file == "flags" {
            throw ValidationError("--\(field.map { $0.replacingOccurrences(of: "_", with: "-") } ?? "config"): \(reason)")
        } catch let error as TrainingError {
            throw ValidationError(error.description)
        } catch {
            throw ValidationError(describe(error))
        }
    }

    /// The defaults, then `--config`, then the flags; validated.
    public func trainingConfig() throws -> TrainingConfig {
        var c = try config.map { try TrainingConfig.load(URL(fileURLWithPath: $0)) } ?? TrainingConfig()
        let flags: [(WritableKeyPath<TrainingConfig, Int>, Int?)] = [
            (\.batchSize, batchSize), (\.maxSeqLength, maxSeqLength), (\.cycles, cycles), (\.chunks, chunks),
            (\.epochs, epochs), (\.stepsPerEpoch, stepsPerEpoch), (\.warmupSteps, warmupSteps),
            (\.checkpointEvery, checkpointEvery),
        ]
        for (field, value) in flags { if let value { c[keyPath: field] = value } }
        let reals: [(WritableKeyPath<TrainingConfig, Double>, Double?)] = [
            (\.learningRate, lr), (\.weightDecay, weightDecay), (\.maxGradNorm, maxGradNorm), (\.scale, scale),
            (\.adamEps, adamEps), (\.stallTimeout, stallTimeout),
        ]
        for (field, value) in reals { if let value { c[keyPath: field] = value } }
        if symmetricLoss { c.symmetricLoss = true }
        if let seed { c.seed = seed }
        if let maxSteps { c.maxSteps = maxSteps }
        if let miniBatchSize { c.miniBatchSize = miniBatchSize }
        if let memoryBudget { c.memoryBudget = memoryBudget }
        if let dropout {
            guard let setting = DropoutSetting(dropout) else {
                throw TrainingError.config(file: "flags", field: "dropout", reason: "must be auto, off or a probability in [0, 1), found '\(dropout)'")
            }
            c.dropout = setting
        }
        try lossFlags(&c)
        try c.validate()
        return c
    }

    /// --loss, --matryoshka-dims and --matryoshka-weights: names and comma-separated lists, checked for form here
    /// and for sense by `TrainingConfig.validate`.
    private func lossFlags(_ c: inout TrainingConfig) throws {
        func bad(_ field: String, _ why: String) -> TrainingError { .config(file: "flags", field: field, reason: why) }
        if let loss {
            guard let kind = LossKind(rawValue: loss) else {
                throw bad("loss", "must be one of \(LossKind.allCases.map(\.rawValue).joined(separator: ", ")), found '\(loss)'")
            }
            c.loss = kind
        }
        func list<T>(_ text: String, _ field: String, _ what: String, _ parse: (String) -> T?) throws -> [T] {
            let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let values = items.compactMap(parse)
            guard values.count == items.count else { throw bad(field, "expected comma-separated \(what), found '\(text)'") }
            return values
        }
        if let guideModel { c.guideModel = guideModel }
        if let gistTemperature { c.gistTemperature = gistTemperature }
        if let gistMargin { c.gistMargin = gistMargin }
        if let gistMarginStrategy { c.gistMarginStrategy = gistMarginStrategy }
        if let matryoshkaDims { c.matryoshkaDims = try list(matryoshkaDims, "matryoshka_dims", "positive integers") { Int($0) } }
        if let matryoshkaWeights {
            c.matryoshkaWeights = try list(matryoshkaWeights, "matryoshka_weights", "numbers") { Double($0).flatMap { $0.isFinite ? $0 : nil } }
        }
    }
}
