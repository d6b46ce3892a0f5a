// Retrieval over normalized embeddings: score matrices through sgemm, accuracy@1 and MRR@10 of anchors
// against their positives (every other positive is a distractor), and top-k search.
import Foundation
import LodestoneTensor

public enum Retrieval {
    /// scores[i * m + j] = a_i · b_j for row-major [n, dim] and [m, dim] matrices (one sgemm).
    public static func scoreMatrix(_ a: [[Float]], _ b: [[Float]], dimension: Int) -> [Float] {
        let flatA = a.flatMap { $0 }, flatB = b.flatMap { $0 }
        var scores = [Float](repeating: 0, count: a.count * b.count)
        guard !scores.isEmpty else { return scores }
        scores.withUnsafeMutableBufferPointer { s in
            flatA.withUnsafeBufferPointer { pa in
                flatB.withUnsafeBufferPointer { pb in
                    linearForward(s.baseAddress!, pa.baseAddress!, pb.baseAddress!, nil, rows: a.count, inDim: dimension, outDim: b.count)
                }
            }
        }
        return scores
    }

    public struct PairMetrics: Sendable { public let accuracyAt1: Double; public let mrrAt10: Double; public let count: Int }

    /// Rank of positive i among all positives for anchor i (ties counted against it).
    public static func pairMetrics(scores: [Float], count n: Int) -> PairMetrics {
        var hits = 0, reciprocal = 0.0
        for i in 0..<n {
            let row = scores[(i * n)..<(i * n + n)]
            let target = row[row.startIndex + i]
            var rank = 0
            for (j, s) in row.enumerated() where j != i && s >= target { rank += 1 }
            if rank == 0 { hits += 1 }
            if rank < 10 { reciprocal += 1 / Double(rank + 1) }
        }
        return PairMetrics(accuracyAt1: Double(hits) / Double(max(n, 1)), mrrAt10: reciprocal / Double(max(n, 1)), count: n)
    }

    /// Indices of the k best scores, best first.
    public static func best(_ scores: ArraySlice<Float>, k: Int) -> [(index: Int, score: Float)] {
        scores.enumerated().map { ($0.offset, $0.element) }.sorted { $0.1 > $1.1 }.prefix(k).map { $0 }
    }
}
