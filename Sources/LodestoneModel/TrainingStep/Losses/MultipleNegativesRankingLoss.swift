// sentence-transformers' MultipleNegativesRankingLoss: anchors against positives and hard negatives, scaled
// cosine scores, cross-entropy with each anchor's own positive as target. The arithmetic (forward and backward
// together) is the `rankingLossForwardBackward` kernel in LodestoneTensor.
import LodestoneTensor

/// MNRL (symmetric: MultipleNegativesSymmetricRankingLoss, anchors→candidates and positives→anchors averaged).
public struct MultipleNegativesRankingLoss: EmbeddingLoss, Equatable {
    public var scale: Float
    public var symmetric: Bool
    public init(scale: Float = 20, symmetric: Bool = false) { self.scale = scale; self.symmetric = symmetric }

    /// The score matrix [B, B·(columns−1)] and its gradient.
    public func scratchCount(_ b: LossBatch) -> Int { 2 * b.anchors * b.anchors * max(b.columns - 1, 1) }

    public func lossAndGradient(embeddings: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                                scratch: UnsafeMutablePointer<Float>, batch b: LossBatch, guide: GuideEmbeddings?) -> Float {
        rankingLossForwardBackward(demb: gradients, emb: embeddings, scores: scratch, anchors: b.anchors,
                                   columns: b.columns, dim: b.dim, scale: scale, symmetric: symmetric)
    }
}
