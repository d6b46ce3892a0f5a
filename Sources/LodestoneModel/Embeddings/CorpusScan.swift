// The exact top k of many queries over a large corpus, fused: threads take tiles of corpus rows in turn, score
// every query against the tile (QueryScorer), and compare each score with its query's floor while the tile is
// still in cache, so only rows that may reach the top k go further. Each thread keeps its own candidate pools;
// the merge takes the top k of their union. bf16 scores are approximate: the merge keeps every candidate
// within twice their error bound of the k-th best, re-scores those in fp32 and ranks by that, which gives the
// fp32 ranking itself (ties and the last bits of each score aside).
import COpenBLAS
import Dispatch
import LodestoneBase
import LodestoneTensor

enum CorpusScan {
    typealias Hit = (index: Int, score: Float)

    /// `unitQueries`: unit length, row-major. Runs on `threads` threads, OpenBLAS on one thread meanwhile.
    static func search(unitQueries: UnsafePointer<Float>, queryCount: Int, corpus: UnsafePointer<Float>, corpusCount: Int,
                       dimension: Int, k: Int, tileRows: Int, precision: MatmulPrecision, threads: Int) -> [[Hit]] {
        let margin = precision == .bf16 ? 2 * QueryScorer.bf16ErrorBound(dimension: dimension) : 0
        let scorer = QueryScorer(queries: unitQueries, queryCount: queryCount, dimension: dimension, precision: precision)
        let tiles = (corpusCount + tileRows - 1) / tileRows
        let parts = max(1, min(threads, tiles))
        let blas = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(blas) }

        // 1. Each thread: tiles in turn, scored and compared with the floors into its own pools.
        var poolsOfPart = [[CandidatePool]](repeating: [], count: parts)
        let next = IndexCounter()
        poolsOfPart.withUnsafeMutableBufferPointer { slots in
            let slot = slots.baseAddress!
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                var pools = [CandidatePool](repeating: CandidatePool(k: k, margin: margin), count: queryCount)
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: queryCount * tileRows)
                let inverseNorms = UnsafeMutablePointer<Float>.allocate(capacity: tileRows)
                defer { scores.deallocate(); inverseNorms.deallocate() }
                while let tile = next.take(below: tiles) {
                    let start = tile * tileRows, n = min(tileRows, corpusCount - start)
                    let rows = corpus + start * dimension
                    for j in 0..<n { inverseNorms[j] = 1 / Retrieval.norm(rows + j * dimension, dimension) }
                    scorer.score(rows, rows: n, into: scores)
                    for q in 0..<queryCount { scan(scores + q * n, inverseNorms, count: n, firstIndex: start, into: &pools[q]) }
                }
                slot[part] = pools
            }
        }

        // 2. Each query: its candidates from every thread (bf16: re-scored in fp32), best first, lower index on ties.
        var hits = [[Hit]](repeating: [], count: queryCount)
        hits.withUnsafeMutableBufferPointer { out in
            let result = out.baseAddress!
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                for q in stride(from: part, to: queryCount, by: parts) {
                    var candidates: [Hit] = []
                    for pools in poolsOfPart { candidates += zip(pools[q].indices, pools[q].scores).map { ($0, $1) } }
                    if precision == .bf16 {
                        candidates = rescored(candidates, query: unitQueries + q * dimension, corpus: corpus,
                                              dimension: dimension, k: k, margin: margin)
                    }
                    candidates.sort { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
                    result[q] = Array(candidates.prefix(k))
                }
            }
        }
        return hits
    }

    /// Scores of one query against a tile (times the rows' inverse norms) that reach the pool's floor, added to
    /// it; 16 at a time compared at once, as nearly all fall below.
    @inline(__always)
    static func scan(_ row: UnsafePointer<Float>, _ inverseNorms: UnsafePointer<Float>, count n: Int, firstIndex: Int,
                     into pool: inout CandidatePool) {
        var floor = SIMD16<Float>(repeating: pool.floor)
        var j = 0
        while j + 16 <= n {
            let s = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(inverseNorms + j).loadUnaligned(as: SIMD16<Float>.self)
            if any(s .>= floor) {
                for lane in 0..<16 where s[lane] >= pool.floor { pool.add(firstIndex + j + lane, s[lane]) }
                floor = SIMD16(repeating: pool.floor)
            }
            j += 16
        }
        while j < n {
            let s = row[j] * inverseNorms[j]
            if s >= pool.floor { pool.add(firstIndex + j, s) }
            j += 1
        }
    }

    /// The bf16 candidates that may be in the exact top k, with fp32 scores. A row dropped here has a bf16 score
    /// below the k-th best minus `margin` (2ε): its fp32 score is below that k-th best − ε, and the k rows at or
    /// above the k-th best score at least that in fp32, so all k rank above it.
    static func rescored(_ candidates: [Hit], query: UnsafePointer<Float>, corpus: UnsafePointer<Float>, dimension: Int,
                         k: Int, margin: Float) -> [Hit] {
        var kept = candidates
        if candidates.count > k {
            let floor = CandidatePool.kthLargest(candidates.map(\.score), k) - margin
            kept = candidates.filter { $0.score >= floor }
        }
        return kept.map { hit in
            let row = corpus + hit.index * dimension
            return (hit.index, Retrieval.dot(query, row, dimension) * (1 / Retrieval.norm(row, dimension)))
        }
    }
}
