// MultipleNegativesRankingLoss (sentence-transformers): scores = scale · anchors · candidatesᵀ with
// candidates = positives followed by hard negatives; cross-entropy with target i for anchor i, mean over
// anchors. The symmetric variant averages it with the positives→anchors direction over the first B columns.
import COpenBLAS
import Foundation

/// emb[S, dim] holds anchors (rows 0..<B), then candidates (B·(columns−1) rows). Returns the loss and
/// writes its gradient w.r.t. emb into demb (overwritten). scores needs 2 × B × B·(columns−1) floats
/// (the scores, then their gradient).
public func rankingLossForwardBackward(demb: UnsafeMutablePointer<Float>, emb: UnsafePointer<Float>,
                                       scores: UnsafeMutablePointer<Float>, anchors B: Int, columns: Int,
                                       dim: Int, scale: Float, symmetric: Bool) -> Float {
    let n = B * (columns - 1)
    let cand = emb + B * dim
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(B), Int32(n), Int32(dim),
                scale, emb, Int32(dim), cand, Int32(dim), 0, scores, Int32(n))
    // dscores accumulates in the second half so that the symmetric term can read the raw scores.
    let dscores = scores + B * n
    dscores.update(repeating: 0, count: B * n)
    var loss: Double = 0
    let w: Float = symmetric ? 0.5 : 1
    for i in 0..<B {
        let row = scores + i * n
        var mx = -Float.infinity
        for j in 0..<n { mx = max(mx, row[j]) }
        var sum: Double = 0
        for j in 0..<n { sum += Double(expf(row[j] - mx)) }
        loss += Double(mx) + log(sum) - Double(row[i])
        for j in 0..<n { dscores[i * n + j] += w * (Float(Double(expf(row[j] - mx)) / sum) - (i == j ? 1 : 0)) / Float(B) }
    }
    var total = loss / Double(B)
    if symmetric {
        var back: Double = 0
        for j in 0..<B {
            var mx = -Float.infinity
            for i in 0..<B { mx = max(mx, scores[i * n + j]) }
            var sum: Double = 0
            for i in 0..<B { sum += Double(expf(scores[i * n + j] - mx)) }
            back += Double(mx) + log(sum) - Double(scores[j * n + j])
            for i in 0..<B {
                let p = Float(Double(expf(scores[i * n + j] - mx)) / sum)
                dscores[i * n + j] += w * (p - (i == j ? 1 : 0)) / Float(B)
            }
        }
        total = (total + back / Double(B)) / 2
    }
    // d anchors = scale · dS · cand ; d cand = scale · dSᵀ · anchors
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(B), Int32(dim), Int32(n),
                scale, dscores, Int32(n), cand, Int32(dim), 0, demb, Int32(dim))
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(n), Int32(dim), Int32(B),
                scale, dscores, Int32(n), emb, Int32(dim), 0, demb + B * dim, Int32(dim))
    return Float(total)
}
