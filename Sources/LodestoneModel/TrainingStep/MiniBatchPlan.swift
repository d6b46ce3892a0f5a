// Cached MNRL (GradCache, Gao et al. 2021) trains a batch larger than its activations allow: embed every text
// without keeping activations, take the loss and its gradient with respect to the embeddings, then recompute
// mini-batch by mini-batch with activations and backpropagate that mini-batch's embedding gradients. This file
// decides the mini-batches: from a memory budget, the parameter count and `Activations.footprint`, how many
// tokens a pass with activations (and one without) may hold.
import LodestoneBase
import LodestoneTensor

/// How a training step may split its batch.
public struct MiniBatching: Equatable, Sendable {
    /// At most this many texts per pass with activations (nil: as many as the budget allows).
    public var maxTexts: Int?
    /// Bytes the whole process may use (nil: no limit, so a batch is one pass unless `maxTexts` splits it).
    public var memoryBudget: Int?
    /// Bytes the process holds besides the trainer's own buffers (none in 04-training: its rollback target is on disk).
    public var otherBytes: Int
    public init(maxTexts: Int? = nil, memoryBudget: Int? = nil, otherBytes: Int = 0) {
        self.maxTexts = maxTexts; self.memoryBudget = memoryBudget; self.otherBytes = otherBytes
    }

    /// Allowance for what no formula here counts: code, the runtime, OpenBLAS's buffers, tokenizer, sampler.
    public static let runtimeBytes = 320 << 20
}

/// The memory a step of `rows` texts (the longest `longest` tokens) will take, and the mini-batch sizes that
/// keep it within the budget.
public struct MemoryPlan: Equatable, Sendable {
    public let budget: Int?
    /// Parameters, gradients and AdamW's two moments, plus `MiniBatching.otherBytes` and the runtime allowance.
    public let fixedBytes: Int
    /// The whole batch's embeddings, their gradients and the loss's scratch (`EmbeddingLoss.scratchCount`).
    public let stepBytes: Int
    /// Tokens one pass with activations may hold (Int.max: no limit).
    public let trainingTokens: Int
    /// Tokens one pass without activations (the embedding pass of cached MNRL) may hold.
    public let inferenceTokens: Int
    public let maxTexts: Int?
    /// Activation bytes of a pass with activations over one text of `longest` tokens: the least the plan needs.
    public let oneTextBytes: Int
    /// Bytes of a pass with activations of `trainingTokens` tokens (capped at the whole batch's).
    public let activationBytes: Int
    /// Whether backward rebuilds each layer's feed-forward input and attention output rather than keep them
    /// (`Activations`): chosen when that lets the whole batch run in one pass and keeping them would not. About a
    /// sixth more GEMM work is cheaper than cached MNRL's extra embedding pass (a third).
    public let recomputeInBackward: Bool

    /// `fixedBytes + stepBytes + activationBytes`: what the step may peak at.
    public var peakBytes: Int { fixedBytes + stepBytes + activationBytes }
    /// False when not even one text of the longest length fits the budget.
    public var fits: Bool { budget.map { fixedBytes + stepBytes + oneTextBytes <= $0 } ?? true }

    public init(config c: EncoderConfig, parameterCount: Int, batching: MiniBatching, longest: Int, rows: Int,
                tokens: Int, anchors: Int, columns: Int, loss: any EmbeddingLoss, dropout: Bool) {
        let budget = batching.memoryBudget
        let fixed = 4 * 4 * parameterCount + batching.otherBytes + MiniBatching.runtimeBytes
        let step = 4 * (2 * rows * c.hidden + loss.scratchCount(LossBatch(anchors: anchors, columns: columns, dim: c.hidden)))
        let scratch = attentionScratchCount(RaggedBatch(lengths: [max(longest, 1)]))
        func bytes(_ t: Int, training: Bool, recompute: Bool = false) -> Int {
            Activations.footprint(config: c, tokens: t, sequences: t, attentionScratch: scratch, training: training,
                                  dropoutMasks: dropout, recomputeInBackward: recompute).bytes
        }
        func largest(training: Bool, recompute: Bool = false) -> Int {
            guard let budget else { return Int.max }
            let base = bytes(0, training: training, recompute: recompute)
            let perToken = bytes(1, training: training, recompute: recompute) - base
            return max(longest, (budget - fixed - step - base) / perToken)   // one text always goes (never fatal)
        }
        let whole = max(tokens, longest)
        let textsFit = batching.maxTexts.map { rows <= $0 } ?? true
        recomputeInBackward = textsFit && largest(training: true) < whole && largest(training: true, recompute: true) >= whole
        self.budget = budget
        maxTexts = batching.maxTexts
        fixedBytes = fixed
        stepBytes = step
        oneTextBytes = bytes(longest, training: true)
        trainingTokens = largest(training: true, recompute: recomputeInBackward)
        inferenceTokens = largest(training: false)
        activationBytes = bytes(min(trainingTokens, whole), training: true, recompute: recomputeInBackward)
    }

    /// Contiguous runs of `range`'s rows, each at most `maxTokens` tokens and `maxTexts` texts; a text longer
    /// than `maxTokens` goes alone.
    public static func split(lengths: [Int], range: Range<Int>, maxTokens: Int, maxTexts: Int?) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var start = range.lowerBound, tokens = 0
        for r in range {
            let full = tokens + lengths[r] > maxTokens || (maxTexts.map { r - start >= $0 } ?? false)
            if r > start, full {
                runs.append(start..<r)
                start = r; tokens = 0
            }
            tokens += lengths[r]
        }
        if start < range.upperBound { runs.append(start..<range.upperBound) }
        return runs
    }

    /// Mini-batches of `range` for the pass with activations and for the embedding pass.
    public func miniBatches(lengths: [Int], range: Range<Int>) -> (training: [Range<Int>], inference: [Range<Int>]) {
        (MemoryPlan.split(lengths: lengths, range: range, maxTokens: trainingTokens, maxTexts: maxTexts),
         MemoryPlan.split(lengths: lengths, range: range, maxTokens: inferenceTokens, maxTexts: nil))
    }
}

extension MemoryPlan {
    /// One line for a run's start: the budget, the planned peak and how a batch of `rows` texts of
    /// `tokensPerText` tokens will run.
    public func summary(rows: Int, tokensPerText: Int) -> String {
        let budgetText = (budget.map { "budget \(formatMemory($0))" } ?? "no budget") + (fits ? "" : " (too small for one text)")
        let head = "\(budgetText), planned peak \(formatMemory(peakBytes)) (model, optimizer and runtime \(formatMemory(fixedBytes)), activations \(formatMemory(activationBytes)))"
        let lengths = Array(repeating: tokensPerText, count: rows)
        let passes = miniBatches(lengths: lengths, range: 0..<rows)
        let batch = "\(rows) texts × \(tokensPerText) tokens"
        if passes.training.count <= 1 {
            return "\(head); \(batch) in one pass" + (recomputeInBackward ? ", feed-forward inputs and attention outputs recomputed in backward" : "")
        }
        return "\(head); \(batch) in \(passes.training.count) passes of up to \(passes.training.map(\.count).max() ?? 0) text(s), after \(passes.inference.count) embedding pass(es) without activations (cached MNRL)"
    }
}
