// The seam between a training step and its objective. The step (EncoderTrainer) owns everything about getting
// embeddings — passes with and without activations (cached MNRL), the all-gather over ranks, dropout offsets —
// and hands the loss the whole batch's embeddings; the loss returns its value and its gradient with respect to
// each embedding, which the step backpropagates. So any loss is cached, distributed and dropout-exact for free.
//   let loss: any EmbeddingLoss = MatryoshkaLoss(inner: MultipleNegativesRankingLoss(), dims: [768, 256, 64])
//   let value = loss.lossAndGradient(embeddings: e, gradients: g, scratch: s, batch: .init(anchors: B, columns: 3, dim: 768))
import LodestoneTensor

/// The shape of one step's embeddings: `columns` columns of `anchors` rows each, column-major by column
/// (column 0's rows, then column 1's, …), every row `dim` floats.
public struct LossBatch: Equatable, Sendable {
    public var anchors: Int
    public var columns: Int
    public var dim: Int
    public init(anchors: Int, columns: Int, dim: Int) { self.anchors = anchors; self.columns = columns; self.dim = dim }
    /// Rows over all columns.
    public var rows: Int { anchors * columns }
}

/// A guide model's embeddings of the same rows as the step's (GIST): `rows × dim` floats, unit rows.
public struct GuideEmbeddings {
    public var values: UnsafePointer<Float>
    public var dim: Int
    public init(values: UnsafePointer<Float>, dim: Int) { self.values = values; self.dim = dim }
}

/// An objective over a step's sentence embeddings. Embeddings are unit rows (the model's pooling ends in
/// Normalize), so a dot product is a cosine.
public protocol EmbeddingLoss: Sendable {
    /// Floats of scratch `lossAndGradient` needs for `batch` (the step allocates them once and reuses them; the
    /// memory plan counts them).
    func scratchCount(_ batch: LossBatch) -> Int
    /// The columns the loss reads out of `columns` given; the others get zero gradient.
    func columnsRead(of columns: Int) -> Range<Int>
    /// Fewest columns a batch must have.
    var minimumColumns: Int { get }
    /// Whether the loss reads a guide model's embeddings of the batch (GIST); the step then computes them.
    var needsGuide: Bool { get }
    /// The loss of `embeddings` [rows, dim], and its gradient with respect to them written to `gradients`
    /// (same shape, overwritten). `scratch` holds `scratchCount(batch)` floats; `guide` is given when `needsGuide`.
    func lossAndGradient(embeddings: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: LossBatch, guide: GuideEmbeddings?) -> Float
}

extension EmbeddingLoss {
    public func columnsRead(of columns: Int) -> Range<Int> { 0..<columns }
    public var minimumColumns: Int { 2 }
    public var needsGuide: Bool { false }

    /// The loss of a step without a guide.
    public func lossAndGradient(embeddings: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                                scratch: UnsafeMutablePointer<Float>, batch: LossBatch) -> Float {
        lossAndGradient(embeddings: embeddings, gradients: gradients, scratch: scratch, batch: batch, guide: nil)
    }

    /// The loss and gradients of embeddings held in arrays (tests, small batches): allocates its scratch.
    /// `guide`: the guide's embeddings of the same rows, `guideDim` floats each.
    public func lossAndGradient(embeddings: [Float], batch: LossBatch, guide: [Float]? = nil, guideDim: Int = 0) -> (loss: Float, gradients: [Float]) {
        precondition(embeddings.count == batch.rows * batch.dim, "\(embeddings.count) floats for \(batch)")
        precondition(guide.map { $0.count == batch.rows * guideDim } ?? true, "guide of \(guide?.count ?? 0) floats for \(batch.rows) rows of \(guideDim)")
        var gradients = [Float](repeating: 0, count: embeddings.count)
        var scratch = [Float](repeating: 0, count: max(1, scratchCount(batch)))
        let loss = (guide ?? []).withUnsafeBufferPointer { g in
            lossAndGradient(embeddings: embeddings, gradients: &gradients, scratch: &scratch, batch: batch,
                            guide: guide == nil ? nil : GuideEmbeddings(values: g.baseAddress!, dim: guideDim))
        }
        return (loss, gradients)
    }
}
