// sentence-transformers' MatryoshkaLoss (Kusupati et al. 2022): the inner loss at several embedding widths,
// weighted and summed, every width every step. A width d takes each embedding's first d dimensions and
// L2-normalizes them (sentence-transformers' `shrink`); since the step's embeddings are the pooled vectors
// normalized, that equals normalizing the first d dimensions of the pooled vector, so the inner loss's dot
// products are the cosines of the truncated embeddings.
import Foundation

public struct MatryoshkaLoss: EmbeddingLoss {
    public let inner: any EmbeddingLoss
    /// Widths, largest first (sentence-transformers sorts them so, and sums in that order).
    public let dims: [Int]
    /// One weight per width, in `dims`' order.
    public let weights: [Float]

    /// `dims` in any order (sorted largest first, weights alongside); weights 1 when nil.
    public init(inner: any EmbeddingLoss, dims: [Int], weights: [Float]? = nil) {
        precondition(!dims.isEmpty && dims.allSatisfy { $0 > 0 }, "Matryoshka dims must be positive: \(dims)")
        let w = weights ?? Array(repeating: 1, count: dims.count)
        precondition(w.count == dims.count, "\(w.count) Matryoshka weights for \(dims.count) dims")
        let pairs = zip(dims, w).enumerated().sorted { ($0.element.0, -$0.offset) > ($1.element.0, -$1.offset) }   // stable, descending
        self.inner = inner
        self.dims = pairs.map(\.element.0)
        self.weights = pairs.map(\.element.1)
    }

    /// Why these dims cannot train embeddings of width `dimension` (nil: they can).
    public func problem(dimension: Int) -> String? {
        guard let d = dims.first(where: { $0 > dimension }) else { return nil }
        return "dimension \(d) is larger than the model's embedding dimension \(dimension)"
    }

    /// The truncated embeddings and their gradient (rows × largest width each), then the inner loss's scratch.
    public func scratchCount(_ b: LossBatch) -> Int {
        let widest = min(dims[0], b.dim)
        let innerMost = dims.map { inner.scratchCount(LossBatch(anchors: b.anchors, columns: b.columns, dim: min($0, b.dim))) }.max() ?? 0
        return 2 * b.rows * widest + innerMost
    }

    public func columnsRead(of columns: Int) -> Range<Int> { inner.columnsRead(of: columns) }
    public var minimumColumns: Int { inner.minimumColumns }
    /// The guide's embeddings pass through whole: only the trained model's are truncated (as sentence-transformers
    /// wraps the model's forward, not the guide's).
    public var needsGuide: Bool { inner.needsGuide }

    public func lossAndGradient(embeddings: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                                scratch: UnsafeMutablePointer<Float>, batch b: LossBatch, guide: GuideEmbeddings?) -> Float {
        precondition(dims[0] <= b.dim, problem(dimension: b.dim) ?? "")
        let rows = b.rows, H = b.dim
        let truncated = scratch, truncatedGrad = scratch + rows * dims[0], innerScratch = truncatedGrad + rows * dims[0]
        gradients.update(repeating: 0, count: rows * H)
        var total: Float = 0
        for (d, w) in zip(dims, weights) {
            var norms = [Float](repeating: 0, count: rows)
            for r in 0..<rows { norms[r] = normalizePrefix(embeddings + r * H, d, into: truncated + r * d) }
            let l = inner.lossAndGradient(embeddings: truncated, gradients: truncatedGrad, scratch: innerScratch,
                                          batch: LossBatch(anchors: b.anchors, columns: b.columns, dim: d), guide: guide)
            total += w * l
            for r in 0..<rows {
                normalizePrefixBackward(dx: gradients + r * H, dy: truncatedGrad + r * d, y: truncated + r * d,
                                        norm: norms[r], d, weight: w)
            }
        }
        return total
    }
}

/// y = x[..<d] / max(‖x[..<d]‖, 1e-12) (torch's F.normalize); returns the norm before the clamp.
func normalizePrefix(_ x: UnsafePointer<Float>, _ d: Int, into y: UnsafeMutablePointer<Float>) -> Float {
    var sq: Float = 0
    for i in 0..<d { sq += x[i] * x[i] }
    let norm = sq.squareRoot(), inv = 1 / max(norm, 1e-12)
    for i in 0..<d { y[i] = x[i] * inv }
    return norm
}

/// dx[..<d] += weight · ∂y/∂x · dy for y = normalizePrefix(x): (dy − y (y·dy)) / ‖x‖; below the clamp y is
/// x / 1e-12, a plain scaling.
func normalizePrefixBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, y: UnsafePointer<Float>,
                             norm: Float, _ d: Int, weight: Float) {
    if norm <= 1e-12 {
        for i in 0..<d { dx[i] += weight * dy[i] / 1e-12 }
        return
    }
    var dot: Float = 0
    for i in 0..<d { dot += y[i] * dy[i] }
    let s = weight / norm
    for i in 0..<d { dx[i] += s * (dy[i] - y[i] * dot) }
}
