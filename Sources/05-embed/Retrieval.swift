// Retrieval over embeddings: score matrices through sgemm, accuracy@1 and MRR@10 of anchors against
// their positives (every other positive is a distractor), and top-k search.
import Foundation
import LodestoneCore

/// scores[i][j] = a_i · b_j for row-major [n, dim] and [m, dim] matrices (one sgemm).
func scoreMatrix(_ a: [[Float]], _ b: [[Float]], dimension: Int) -> [Float] {
    let flatA = a.flatMap { $0 }, flatB = b.flatMap { $0 }
    var scores = [Float](repeating: 0, count: a.count * b.count)
    scores.withUnsafeMutableBufferPointer { s in
        flatA.withUnsafeBufferPointer { pa in
            flatB.withUnsafeBufferPointer { pb in
                linearForward(s.baseAddress!, pa.baseAddress!, pb.baseAddress!, nil, rows: a.count, inDim: dimension, outDim: b.count)
            }
        }
    }
    return scores
}

struct RetrievalMetrics { let accuracyAt1: Double; let mrrAt10: Double; let count: Int }

/// Rank of positive i among all positives for anchor i (ties counted against it).
func retrievalMetrics(scores: [Float], count n: Int) -> RetrievalMetrics {
    var hits = 0, reciprocal = 0.0
    for i in 0..<n {
        let row = scores[(i * n)..<(i * n + n)]
        let target = row[row.startIndex + i]
        var rank = 0
        for (j, s) in row.enumerated() where j != i && s >= target { rank += 1 }
        if rank == 0 { hits += 1 }
        if rank < 10 { reciprocal += 1 / Double(rank + 1) }
    }
    return RetrievalMetrics(accuracyAt1: Double(hits) / Double(max(n, 1)), mrrAt10: reciprocal / Double(max(n, 1)), count: n)
}

/// Indices of the k best scores, best first.
func bestScores(_ scores: ArraySlice<Float>, k: Int) -> [(Int, Float)] {
    scores.enumerated().map { ($0.offset, $0.element) }.sorted { $0.1 > $1.1 }.prefix(k).map { $0 }
}
