// Exact nearest-neighbour search by cosine similarity, blocked through sgemm: what 05-embed search, the evaluators
// and hard-negative mining rank with. A corpus too large for one score matrix is scanned block by block.
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

    /// The k best (index, score) offered so far, best first; of equal scores the one offered first wins.
    public struct TopK {
        public let k: Int
        public private(set) var items: [(index: Int, score: Float)] = []
        public init(k: Int) { self.k = k; items.reserveCapacity(k + 1) }

        @inline(__always) public mutating func offer(_ index: Int, _ score: Float) {
            if items.count == k, !(score > items[k - 1].score) { return }
            var i = items.count
            while i > 0 && score > items[i - 1].score { i -= 1 }
            items.insert((index, score), at: i)
            if items.count > k { items.removeLast() }
        }
    }

    /// Indices of the k best scores, best first; ties go to the lower index.
    public static func best(_ scores: ArraySlice<Float>, k: Int) -> [(index: Int, score: Float)] {
        var top = TopK(k: k)
        for (offset, s) in scores.enumerated() { top.offer(offset, s) }
        return top.items
    }

    /// Exact top-k of every query against a corpus too large for one score matrix: blocks of corpus rows go
    /// through one sgemm each against all queries, and each query keeps its k best. Ties go to the lower index.
    /// Scores are cosine similarities: queries are normalized first, and each block's scores are divided by its
    /// rows' norms (a memory-mapped corpus is read, never changed), so stored embeddings of any length rank right.
    public static func search(queries: UnsafePointer<Float>, queryCount: Int, corpus: UnsafePointer<Float>,
                              corpusCount: Int, dimension: Int, k: Int,
                              blockRows: Int = 8192) -> [[(index: Int, score: Float)]] {
        var top = [TopK](repeating: TopK(k: k), count: queryCount)
        guard queryCount > 0, corpusCount > 0, k > 0 else { return top.map(\.items) }
        let unitQueries = UnsafeMutablePointer<Float>.allocate(capacity: queryCount * dimension)
        defer { unitQueries.deallocate() }
        for q in 0..<queryCount {
            let scale = 1 / norm(queries + q * dimension, dimension)
            for d in 0..<dimension { unitQueries[q * dimension + d] = queries[q * dimension + d] * scale }
        }
        let block = max(1, min(blockRows, corpusCount))
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: queryCount * block)
        defer { scores.deallocate() }
        var inverseNorms = [Float](repeating: 1, count: block)
        for start in stride(from: 0, to: corpusCount, by: block) {
            let n = min(block, corpusCount - start)
            for j in 0..<n { inverseNorms[j] = 1 / norm(corpus + (start + j) * dimension, dimension) }
            linearForward(scores, unitQueries, corpus + start * dimension, nil, rows: queryCount, inDim: dimension, outDim: n)
            for q in 0..<queryCount {
                let row = scores + q * n
                for j in 0..<n { top[q].offer(start + j, row[j] * inverseNorms[j]) }
            }
        }
        return top.map(\.items)
    }

    /// ‖v‖, at least 1e-12 (torch's F.normalize eps), so a zero vector scores 0 rather than NaN.
    @inline(__always) static func norm(_ v: UnsafePointer<Float>, _ count: Int) -> Float {
        var sum: Float = 0
        for i in 0..<count { sum += v[i] * v[i] }
        return max(sum.squareRoot(), 1e-12)
    }
}
