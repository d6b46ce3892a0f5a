import Foundation
import LodestoneModel
import LodestoneText

/// The model from a sentence-transformers directory (as 03 writes it), trained through math's `EncoderTrainer`:
/// MNRL (scale), AdamW (weight decay, skipped for bias/LayerNorm), clipping at `maxGradNorm`.
public final class EncoderTrainable: TrainableModel {
    public let trainer: EncoderTrainer
    public let directory: SentenceTransformerDirectory
    public let tokenizer: WordPieceTokenizer
    private var encoder: SentenceEncoder { trainer.encoder }

    public init(directory url: URL, config: TrainingConfig) throws {
        let dir = try SentenceTransformerDirectory.read(url)
        let encoder = try SentenceEncoder(config: dir.config, weights: Dictionary(dir.weights, uniquingKeysWith: { a, _ in a }))
        directory = dir
        tokenizer = dir.tokenizer
        trainer = EncoderTrainer(encoder: encoder, loss: MultipleNegativesRankingLoss(scale: Float(config.scale), symmetric: config.symmetricLoss),
                                 adamW: AdamWConfig(eps: Float(config.adamEps), weightDecay: Float(config.weightDecay)),
                                 maxGradNorm: Float(config.maxGradNorm))
    }

    public var parameterCount: Int { encoder.parameterCount }
    /// The directory's own max_seq_length, the cap on tokens per text.
    public var maxSeqLength: Int { directory.maxSeqLength }

    public func trainStep(columns: [[[Int32]]], learningRate: Float) throws -> StepReport {
        let r = try trainer.computeGradients(columns: columns)
        // A non-finite gradient would poison AdamW's moments: report it without applying the update.
        if r.loss.isFinite && r.gradNorm.isFinite { trainer.applyGradients(learningRate: learningRate) }
        return StepReport(loss: r.loss, gradNorm: r.gradNorm)
    }

    public func resetOptimizer() {
        var s = trainingState()
        s.firstMoments = [Float](repeating: 0, count: s.parameters.count)
        s.secondMoments = s.firstMoments
        s.optimizerStep = 0
        try! restore(s)   // shapes come from this model itself
    }

    public func trainingState() -> ModelTrainingState {
        let n = parameterCount
        return ModelTrainingState(parameters: Array(UnsafeBufferPointer(start: encoder.parameters, count: n)),
                                  firstMoments: Array(UnsafeBufferPointer(start: trainer.adamM, count: n)),
                                  secondMoments: Array(UnsafeBufferPointer(start: trainer.adamV, count: n)),
                                  optimizerStep: trainer.optimizerStep)
    }

    public func restore(_ state: ModelTrainingState) throws {
        guard state.parameters.count == parameterCount, state.firstMoments.count == parameterCount,
              state.secondMoments.count == parameterCount else {
            throw TrainingError.model("state holds \(state.parameters.count) parameters, the model has \(parameterCount)")
        }
        // Through the trainer's own restore, which also sets AdamW's step.
        var tensors: [String: TensorData] = [:]
        for e in encoder.layout.entries {
            let r = e.offset..<(e.offset + e.count)
            tensors[e.name] = TensorData(shape: e.shape, values: Array(state.parameters[r]))
            tensors["adam.exp_avg." + e.name] = TensorData(shape: e.shape, values: Array(state.firstMoments[r]))
            tensors["adam.exp_avg_sq." + e.name] = TensorData(shape: e.shape, values: Array(state.secondMoments[r]))
        }
        try trainer.restoreState(tensors: tensors, metadata: ["adam_step": String(state.optimizerStep)])
    }

    public func saveModelDirectory(to url: URL) throws {
        var out = directory
        out.weights = encoder.namedWeights()
        try out.write(to: url)
    }
}

extension WordPieceTokenizer: TextTokenizer {}
