import Foundation
import LodestoneModel
import LodestoneTensor
import LodestoneText

/// The seam between the trainer loop and the model's math: an encoder with its loss (MNRL) and optimizer
/// (AdamW with clipping) that takes one step on columns of token ids. `columns[0]` anchors, `columns[1]`
/// positives, `columns[2...]` hard negatives; row i of every column belongs together. `EncoderTrainer` is the
/// one real implementation; the seam lets the loop be tested on a toy.
public protocol TrainableEncoder: AnyObject {
    var parameterCount: Int { get }
    /// Forward, loss, backward, clip, AdamW at `learningRate`. Reports loss and the gradient norm before
    /// clipping; a non-finite step is not applied. Every random choice of the step (dropout masks) follows from
    /// `dropoutSeed`, so a step rerun with the same seed on the same state gives the same bits.
    func trainStep(columns: [[[Int32]]], learningRate: Float, dropoutSeed: UInt64) throws -> StepResult
    /// trainStep with the same texts tokenized for a guide model (GIST's); by default the guide ids are ignored.
    func trainStep(columns: [[[Int32]]], guideColumns: [[[Int32]]]?, learningRate: Float, dropoutSeed: UInt64) throws -> StepResult
    /// A fresh optimizer (moments zero, step 0): each of the original's `fit` calls built a new one.
    func resetOptimizer()
    /// Copies parameters, moments and optimizer step into `state`, reusing its arrays.
    func exportState(into state: inout ModelTrainingState)
    /// Puts back a state `exportState` produced (or a checkpoint held).
    func importState(_ state: ModelTrainingState) throws
    /// Lends the state in place for `body` to read or overwrite: checkpoints are written from it and rollbacks
    /// read into it, so the trainer holds no copy of the model.
    func withTrainingState<R>(_ body: (inout TrainingStateView) throws -> R) throws -> R
    /// Writes the model as a sentence-transformers directory (as 03 writes it) to `directory`, atomically:
    /// a reader sees the previous directory or the new one, never half of one.
    func saveModelDirectory(to directory: URL) throws
    /// The directory `saveModelDirectory` writes, without its weights: what the model card describes (nil: none).
    var template: SentenceTransformerDirectory? { get }
    /// Sets how steps split their batches (cached MNRL) to stay within `budget` bytes, counting `otherBytes` the
    /// training loop holds, with at most `maxTexts` texts per pass; returns the plan of the largest step the run
    /// can take (`pairs` × `columns` texts of `tokensPerText` tokens). nil: this model does not plan memory.
    func planMemory(budget: Int?, maxTexts: Int?, otherBytes: Int, pairs: Int, columns: Int, tokensPerText: Int) -> MemoryPlan?
}

extension TrainableEncoder {
    public var template: SentenceTransformerDirectory? { nil }

    public func trainStep(columns: [[[Int32]]], guideColumns: [[[Int32]]]?, learningRate: Float, dropoutSeed: UInt64) throws -> StepResult {
        try trainStep(columns: columns, learningRate: learningRate, dropoutSeed: dropoutSeed)
    }

    public func planMemory(budget: Int?, maxTexts: Int?, otherBytes: Int, pairs: Int, columns: Int, tokensPerText: Int) -> MemoryPlan? { nil }

    /// Through a copy (export, then import back): for small models that keep their state elsewhere than flat buffers.
    public func withTrainingState<R>(_ body: (inout TrainingStateView) throws -> R) throws -> R {
        var state = trainingState()
        let result = try state.withView(body)
        try importState(state)
        return result
    }

    /// A copy of the whole trainable state (allocates: tests and small models only).
    public func trainingState() -> ModelTrainingState {
        var state = ModelTrainingState()
        exportState(into: &state)
        return state
    }
}

extension EncoderTrainer: TrainableEncoder {
    public func planMemory(budget: Int?, maxTexts: Int?, otherBytes: Int, pairs: Int, columns: Int, tokensPerText: Int) -> MemoryPlan? {
        batching = MiniBatching(maxTexts: maxTexts, memoryBudget: budget, otherBytes: otherBytes)
        let whole = RaggedBatch(lengths: Array(repeating: tokensPerText, count: pairs * columns))
        return memoryPlan(whole: whole, anchors: pairs, columns: columns)
    }

    /// The trainable encoder of a sentence-transformers directory with the run's loss and optimizer settings:
    /// MNRL (scale, symmetric) or Matryoshka around it, AdamW (eps, weight decay, skipped for bias/LayerNorm), clipping at `maxGradNorm`,
    /// dropout as `config.dropout` says (auto: the directory's config.json rates).
    public convenience init(directory: SentenceTransformerDirectory, config: TrainingConfig) throws {
        if let problem = config.problem(embeddingDimension: directory.config.hidden) {
            throw TrainingError.config(file: "flags", field: "matryoshka_dims", reason: problem)
        }
        try self.init(directory: directory, loss: config.embeddingLoss(),
                      adamW: AdamWConfig(eps: Float(config.adamEps), weightDecay: Float(config.weightDecay)),
                      maxGradNorm: Float(config.maxGradNorm), dropout: try config.dropout.rates(for: directory.config))
        batching = MiniBatching(maxTexts: config.miniBatchSize, memoryBudget: config.memoryBudgetBytes)
    }
}

/// Text → token ids with [CLS] … [SEP], at most `maxLength` ids.
public protocol TextTokenizer: AnyObject {
    func encode(_ text: String, maxLength: Int?) -> [Int32]
}

extension WordPieceTokenizer: TextTokenizer {}
