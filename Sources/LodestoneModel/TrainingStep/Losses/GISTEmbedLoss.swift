// sentence-transformers' GISTEmbedLoss (Solatorio 2024, GISTEmbed): MNRL whose in-batch negatives a guide model
// filters. For anchor i the candidates are every positive, every other anchor, every other positive (scored against
// positive i) and every hard negative; a candidate the guide rates closer to the query than the guide rates
// positive i to anchor i (less a margin) is taken for a false negative and dropped. Scores are cosines / temperature,
// cross-entropy with positive i as target, averaged over anchors.
//
// The scores come from two sgemm calls over the step's layout (anchors, positives, negatives one after another):
// S = A·Eᵀ gives anchor–anchor, anchor–positive and anchor–negative at once, and Q = P·Pᵀ positive–positive;
// the guide's G = Aᵍ·Eᵍᵀ and Gq = Pᵍ·Pᵍᵀ give the masks.
import Foundation
import COpenBLAS
import LodestoneTensor

public struct GISTEmbedLoss: EmbeddingLoss, Equatable {
    /// How far past the guide's anchor–positive score a candidate may be before it counts as a false negative.
    public enum MarginStrategy: String, Sendable, CaseIterable {
        /// Dropped when guide score > positive's − margin.
        case absolute
        /// Dropped when guide score > positive's − |positive's| · margin.
        case relative
    }
    public var temperature: Float
    public var marginStrategy: MarginStrategy
    public var margin: Float
    /// Other anchors as negatives (anchor–anchor scores).
    public var contrastAnchors: Bool
    /// Other positives as negatives of positive i (positive–positive scores).
    public var contrastPositives: Bool

    /// sentence-transformers' defaults: temperature 0.01, absolute margin 0, both contrasts on.
    public init(temperature: Float = 0.01, marginStrategy: MarginStrategy = .absolute, margin: Float = 0,
                contrastAnchors: Bool = true, contrastPositives: Bool = true) {
        precondition(temperature > 0, "GIST temperature must be positive, found \(temperature)")
        self.temperature = temperature; self.marginStrategy = marginStrategy; self.margin = margin
        self.contrastAnchors = contrastAnchors; self.contrastPositives = contrastPositives
    }

    public var needsGuide: Bool { true }

    /// S and Q, the guide's G and Gq (the masks), and dS and dQ: three copies of B × (rows + B).
    public func scratchCount(_ b: LossBatch) -> Int { 3 * b.anchors * (b.rows + b.anchors) }

    public func lossAndGradient(embeddings e: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                                scratch: UnsafeMutablePointer<Float>, batch b: LossBatch, guide: GuideEmbeddings?) -> Float {
        guard let guide else { preconditionFailure("GISTEmbedLoss needs the guide model's embeddings of the batch") }
        let B = b.anchors, R = b.rows, D = b.dim, width = R + B
        let scores = scratch, guided = scratch + B * width, dScores = scratch + 2 * B * width
        // Row i of each matrix: [A_i·E_j for the R rows | P_i·P_j for the B positives].
        func similarities(_ x: UnsafePointer<Float>, dim: Int, into out: UnsafeMutablePointer<Float>) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(B), Int32(R), Int32(dim),
                        1, x, Int32(dim), x, Int32(dim), 0, out, Int32(width))
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(B), Int32(B), Int32(dim),
                        1, x + B * dim, Int32(dim), x + B * dim, Int32(dim), 0, out + R, Int32(width))
        }
        similarities(e, dim: D, into: scores)
        similarities(guide.values, dim: guide.dim, into: guided)

        var total: Double = 0
        var keep = [Bool](repeating: false, count: width)
        for i in 0..<B {
            let s = scores + i * width, g = guided + i * width, ds = dScores + i * width
            let target = B + i                        // anchor i · positive i
            let positive = g[target]
            let threshold = marginStrategy == .absolute ? positive - margin : positive - abs(positive) * margin
            for j in 0..<width {
                let anchorBlock = j < B, positiveBlock = j >= R
                if j == target { keep[j] = true; continue }
                if anchorBlock && (!contrastAnchors || j == i) { keep[j] = false; continue }
                if positiveBlock && (!contrastPositives || j - R == i) { keep[j] = false; continue }
                keep[j] = !(g[j] > threshold)
            }
            var top = -Float.infinity
            for j in 0..<width where keep[j] { top = max(top, s[j] / temperature) }
            var sum: Double = 0
            for j in 0..<width where keep[j] { sum += Double(expf(s[j] / temperature - top)) }
            total += Double(top) + log(sum) - Double(s[target] / temperature)
            // d loss / d score = (softmax − one-hot) / (B · temperature); dropped candidates get none.
            let scale = 1 / (Float(B) * temperature)
            for j in 0..<width {
                let p = keep[j] ? Float(Double(expf(s[j] / temperature - top)) / sum) : 0
                ds[j] = (p - (j == target ? 1 : 0)) * scale
            }
        }
        // S = A·Eᵀ: dA += dS·E, dE += dSᵀ·A. Q = P·Pᵀ: dP += dQ·P + dQᵀ·P.
        gradients.update(repeating: 0, count: R * D)
        let positives = e + B * D, dPositives = gradients + B * D
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(R), Int32(D), Int32(B),
                    1, dScores, Int32(width), e, Int32(D), 0, gradients, Int32(D))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(B), Int32(D), Int32(R),
                    1, dScores, Int32(width), e, Int32(D), 1, gradients, Int32(D))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(B), Int32(D), Int32(B),
                    1, dScores + R, Int32(width), positives, Int32(D), 1, dPositives, Int32(D))
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(B), Int32(D), Int32(B),
                    1, dScores + R, Int32(width), positives, Int32(D), 1, dPositives, Int32(D))
        return Float(total / Double(B))
    }
}
