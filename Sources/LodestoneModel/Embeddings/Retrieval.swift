// Exact nearest-neighbour search by cosine similarity, blocked through sgemm: what 05-embed search, the evaluators
// and hard-negative mining rank with. A corpus too large for one score matrix is scanned tile by tile (CorpusScan).
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

    /// Exact top-k of every query against a corpus too large for one score matrix: threads take tiles of
    /// `blockRows` corpus rows (default: a tile of scores about 1 MB), score all queries against each and keep
    /// per query only the rows that may reach its top k (CorpusScan). Ties go to the lower index. Scores are cosine
    /// similarities: queries are normalized first, and each tile's scores are divided by its rows' norms (a
    /// memory-mapped corpus is read, never changed), so stored embeddings of any length rank right. `bf16` scores
    /// with the bf16 kernel and re-ranks the candidates in fp32: the same lists (ties aside); only where
    /// `CPUFeatures.host.hasBF16GEMM`. Runs on the OpenBLAS thread count's threads.
    public static func search(queries: UnsafePointer<Float>, queryCount: Int, corpus: UnsafePointer<Float>,
                              corpusCount: Int, dimension: Int, k: Int, blockRows: Int? = nil,
                              precision: MatmulPrecision = .fp32) -> [[(index: Int, score: Float)]] {
        guard queryCount > 0, corpusCount > 0, k > 0 else { return [[(index: Int, score: Float)]](repeating: [], count: queryCount) }
        let unitQueries = UnsafeMutablePointer<Float>.allocate(capacity: queryCount * dimension)
        defer { unitQueries.deallocate() }
        for q in 0..<queryCount {
            let scale = 1 / norm(queries + q * dimension, dimension)
            for d in 0..<dimension { unitQueries[q * dimension + d] = queries[q * dimension + d] * scale }
        }
        let tileRows = max(1, min(blockRows ?? defaultTileRows(queryCount: queryCount), corpusCount))
        return CorpusScan.search(unitQueries: unitQueries, queryCount: queryCount, corpus: corpus, corpusCount: corpusCount,
                                 dimension: dimension, k: min(k, corpusCount), tileRows: tileRows, precision: precision,
                                 threads: max(1, blasThreads()))
    }

    /// Corpus rows per tile: a tile's scores (queries × rows floats) about 1 MB, so they are still in cache when
    /// compared; 32 to 4,096 rows, a multiple of 32 (the bf16 kernel's panel width).
    static func defaultTileRows(queryCount: Int) -> Int {
        let rows = (1 << 18) / max(1, queryCount)
        return min(4096, max(32, (rows + 31) / 32 * 32))
    }

    /// a · b over `count` floats, in 16 lanes: the norms, and the exact re-rank of bf16 candidates.
    @inline(__always) static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var lanes = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= count {
            lanes += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        var sum = lanes.sum()
        while i < count { sum += a[i] * b[i]; i += 1 }
        return sum
    }

    /// ‖v‖, at least 1e-12 (torch's F.normalize eps), so a zero vector scores 0 rather than NaN.
    @inline(__always) static func norm(_ v: UnsafePointer<Float>, _ count: Int) -> Float {
        max(dot(v, v, count).squareRoot(), 1e-12)
    }
}
