// What one optimizer step reports and the state a checkpoint holds: the types shared by the trainable encoder
// (EncoderTrainer) and the trainer loop (LodestoneTraining's `Trainer`).
import Foundation

/// What one optimizer step reports.
public struct StepResult: Sendable, Equatable {
    public var loss: Float
    /// Global L2 norm of the gradients before clipping.
    public var gradNorm: Float
    public init(loss: Float, gradNorm: Float) { self.loss = loss; self.gradNorm = gradNorm }

    /// The one non-finite check: such a step must not reach AdamW's moments, and it fails the trainer's epoch.
    public var isFinite: Bool { loss.isFinite && gradNorm.isFinite }
}

/// The trainable state as flat arrays: parameters and AdamW's moments in the parameter layout, plus AdamW's
/// step count (for bias correction). A checkpoint stores exactly this (`model.bin`: the three arrays in order).
public struct ModelTrainingState: Equatable, Sendable {
    public var parameters: [Float]
    public var firstMoments: [Float]
    public var secondMoments: [Float]
    public var optimizerStep: Int

    public init(parameters: [Float] = [], firstMoments: [Float] = [], secondMoments: [Float] = [], optimizerStep: Int = 0) {
        self.parameters = parameters; self.firstMoments = firstMoments
        self.secondMoments = secondMoments; self.optimizerStep = optimizerStep
    }

    /// A zeroed state of `count` parameters: a buffer to export into or read a checkpoint into.
    public init(count: Int) {
        let zeros = [Float](repeating: 0, count: count)
        self.init(parameters: zeros, firstMoments: zeros, secondMoments: zeros)
    }

    /// Parameters held; nil when the three arrays disagree.
    public var count: Int? {
        parameters.count == firstMoments.count && parameters.count == secondMoments.count ? parameters.count : nil
    }

    /// Copies `count` floats from each buffer (memcpy), reusing this state's arrays when they already hold
    /// `count` floats: a snapshot taken every epoch allocates nothing after the first.
    public mutating func copy(parameters p: UnsafePointer<Float>, firstMoments m: UnsafePointer<Float>,
                              secondMoments v: UnsafePointer<Float>, count: Int, optimizerStep step: Int) {
        if self.count != count { self = ModelTrainingState(count: count) }
        optimizerStep = step
        guard count > 0 else { return }
        parameters.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: p, count: count) }
        firstMoments.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: m, count: count) }
        secondMoments.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: v, count: count) }
    }

    /// Copies the three arrays into the buffers (memcpy); they must hold `count` floats each.
    public func copy(toParameters p: UnsafeMutablePointer<Float>, firstMoments m: UnsafeMutablePointer<Float>,
                     secondMoments v: UnsafeMutablePointer<Float>) {
        guard !parameters.isEmpty else { return }
        parameters.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: $0.count) }
        firstMoments.withUnsafeBufferPointer { m.update(from: $0.baseAddress!, count: $0.count) }
        secondMoments.withUnsafeBufferPointer { v.update(from: $0.baseAddress!, count: $0.count) }
    }
}

/// The trainable state where the model keeps it: its three arrays and AdamW's step, lent for the length of a
/// `withTrainingState` call. Checkpoints and rollbacks stream through it, so no copy of the model is ever held.
public struct TrainingStateView {
    public let parameters: UnsafeMutableBufferPointer<Float>
    public let firstMoments: UnsafeMutableBufferPointer<Float>
    public let secondMoments: UnsafeMutableBufferPointer<Float>
    public var optimizerStep: Int

    public init(parameters: UnsafeMutableBufferPointer<Float>, firstMoments: UnsafeMutableBufferPointer<Float>,
                secondMoments: UnsafeMutableBufferPointer<Float>, optimizerStep: Int) {
        precondition(firstMoments.count == parameters.count && secondMoments.count == parameters.count, "arrays of one length")
        self.parameters = parameters; self.firstMoments = firstMoments
        self.secondMoments = secondMoments; self.optimizerStep = optimizerStep
    }

    public var count: Int { parameters.count }
    /// The arrays in `model.bin`'s order.
    public var arrays: [UnsafeMutableBufferPointer<Float>] { [parameters, firstMoments, secondMoments] }
}

extension ModelTrainingState {
    /// This state's arrays as a view (for code written against views); changes through it are this state's.
    public mutating func withView<R>(_ body: (inout TrainingStateView) throws -> R) rethrows -> R {
        var step = optimizerStep
        defer { optimizerStep = step }
        return try parameters.withUnsafeMutableBufferPointer { p in
            try firstMoments.withUnsafeMutableBufferPointer { m in
                try secondMoments.withUnsafeMutableBufferPointer { v in
                    var view = TrainingStateView(parameters: p, firstMoments: m, secondMoments: v, optimizerStep: step)
                    defer { step = view.optimizerStep }
                    return try body(&view)
                }
            }
        }
    }
}

/// Dropout probabilities while training: `hidden` after the embeddings' LayerNorm, the attention output
/// projection and the feed-forward block (config.json's hidden_dropout_prob), `attention` on the attention
/// probabilities (attention_probs_dropout_prob). Inference never drops.
public struct DropoutRates: Sendable, Equatable, CustomStringConvertible {
    public var hidden: Float
    public var attention: Float
    public init(hidden: Float, attention: Float) { self.hidden = hidden; self.attention = attention }
    /// No dropout anywhere.
    public static let none = DropoutRates(hidden: 0, attention: 0)
    /// The rates a model's config.json asks for.
    public init(config: EncoderConfig) { self.init(hidden: config.hiddenDropout, attention: config.attentionDropout) }
    public var description: String { "hidden \(hidden), attention \(attention)" }
}
