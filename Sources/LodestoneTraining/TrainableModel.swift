import Foundation

/// What one optimizer step reports.
public struct StepReport: Sendable, Equatable {
    public var loss: Float
    /// Global L2 norm of the gradients before clipping.
    public var gradNorm: Float
    public init(loss: Float, gradNorm: Float) { self.loss = loss; self.gradNorm = gradNorm }
}

/// The trainable state as flat arrays: parameters and AdamW's moments in one fixed order, plus AdamW's step
/// count (for bias correction). A checkpoint stores exactly this.
public struct ModelTrainingState: Equatable, Sendable {
    public var parameters: [Float]
    public var firstMoments: [Float]
    public var secondMoments: [Float]
    public var optimizerStep: Int
    public init(parameters: [Float], firstMoments: [Float], secondMoments: [Float], optimizerStep: Int) {
        self.parameters = parameters; self.firstMoments = firstMoments
        self.secondMoments = secondMoments; self.optimizerStep = optimizerStep
    }
}

/// The seam between the trainer loop and the model's math: an encoder with its loss (MNRL) and optimizer
/// (AdamW with clipping) that takes one step on columns of token ids. `columns[0]` anchors, `columns[1]`
/// positives, `columns[2...]` hard negatives; row i of every column belongs together.
public protocol TrainableModel: AnyObject {
    var parameterCount: Int { get }
    /// Forward, loss, backward, clip, AdamW at `learningRate`. Reports loss and the gradient norm before clipping.
    func trainStep(columns: [[[Int32]]], learningRate: Float) throws -> StepReport
    /// A fresh optimizer (moments zero, step 0): each of the original's `fit` calls built a new one.
    func resetOptimizer()
    func trainingState() -> ModelTrainingState
    func restore(_ state: ModelTrainingState) throws
    /// Writes the model as a sentence-transformers directory (as 03 writes it) to `directory`, atomically:
    /// a reader sees the previous directory or the new one, never half of one.
    func saveModelDirectory(to directory: URL) throws
}

/// Text → token ids with [CLS] … [SEP], at most `maxLength` ids.
public protocol TextTokenizer: AnyObject {
    func encode(_ text: String, maxLength: Int?) -> [Int32]
}
