// Scores of embeddings the way sentence-transformers' evaluators compute them, so numbers can be compared with
// published ones: InformationRetrievalEvaluator (cosine: accuracy/precision/recall@k, MRR@10, nDCG@10, MAP@100,
// binary relevance, queries without relevant documents excluded) and EmbeddingSimilarityEvaluator (Pearson and
// Spearman of cosine similarity against gold scores). Every score is a cosine whatever the model's last module:
// embeddings that a model without Normalize gives are normalized here (sentence-transformers' cos_sim does the same).
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

    public static let accuracyAt = [1, 3, 5, 10], precisionRecallAt = [1, 3, 5, 10]
    public static let mrrAt = 10, ndcgAt = 10, mapAt = 100

    /// InformationRetrievalEvaluator's cosine metrics, under its names (`cosine_ndcg@10`, …). `relevant[q]` holds
    /// the corpus indices relevant to query q; queries with none are left out, as there.
    public static func informationRetrieval(queries: [[Float]], corpus: [[Float]], relevant: [Set<Int>],
                                            dimension: Int) -> [String: Double] {
        let used = relevant.indices.filter { !relevant[$0].isEmpty }
        let depth = max(mapAt, ndcgAt, mrrAt, accuracyAt.max()!, precisionRecallAt.max()!)
        let flatQueries = used.flatMap { queries[$0] }, flatCorpus = corpus.flatMap { $0 }
        let ranked = used.isEmpty || corpus.isEmpty ? Array(repeating: [], count: used.count) : flatQueries.withUnsafeBufferPointer { q in
            flatCorpus.withUnsafeBufferPointer { c in
                search(queries: q.baseAddress!, queryCount: used.count, corpus: c.baseAddress!, corpusCount: corpus.count,
                       dimension: dimension, k: depth)
            }
        }
        var sums: [String: Double] = [:]
        for (q, hits) in zip(used, ranked) {
            let relevance = hits.map { relevant[q].contains($0.index) }
            for (name, value) in queryMetrics(hits: relevance, relevantCount: relevant[q].count) { sums[name, default: 0] += value }
        }
        return sums.mapValues { $0 / Double(max(used.count, 1)) }
    }

    /// One query's metrics from the relevance of its ranked hits.
    static func queryMetrics(hits: [Bool], relevantCount: Int) -> [String: Double] {
        var out: [String: Double] = [:]
        func correct(_ k: Int) -> Int { hits.prefix(k).filter { $0 }.count }
        for k in accuracyAt { out["cosine_accuracy@\(k)"] = correct(k) > 0 ? 1 : 0 }
        for k in precisionRecallAt {
            out["cosine_precision@\(k)"] = Double(correct(k)) / Double(k)
            out["cosine_recall@\(k)"] = Double(correct(k)) / Double(relevantCount)
        }
        out["cosine_mrr@\(mrrAt)"] = hits.prefix(mrrAt).firstIndex(of: true).map { 1 / Double($0 + 1) } ?? 0
        func dcg(_ relevances: [Bool]) -> Double {
            relevances.prefix(ndcgAt).enumerated().reduce(0) { $0 + ($1.element ? 1 / log2(Double($1.offset + 2)) : 0) }
        }
        out["cosine_ndcg@\(ndcgAt)"] = dcg(hits) / dcg([Bool](repeating: true, count: relevantCount))
        var found = 0, precisionSum = 0.0
        for (rank, hit) in hits.prefix(mapAt).enumerated() where hit {
            found += 1
            precisionSum += Double(found) / Double(rank + 1)
        }
        out["cosine_map@\(mapAt)"] = precisionSum / Double(min(mapAt, relevantCount))
        return out
    }

    /// EmbeddingSimilarityEvaluator's cosine metrics: Pearson and Spearman (average ranks for ties) of the
    /// cosine similarity of each pair against its gold score.
    public static func similarity(first: [[Float]], second: [[Float]], gold: [Double]) -> [String: Double] {
        let cosines = zip(first, second).map { a, b in cosine(a, b) }
        return ["pearson_cosine": pearson(gold, cosines), "spearman_cosine": pearson(ranks(gold), ranks(cosines))]
    }

    /// a·b / (‖a‖ ‖b‖), in Double, each norm at least 1e-12.
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return dot / (max(na.squareRoot(), 1e-12) * max(nb.squareRoot(), 1e-12))
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        return sxy / (sxx * syy).squareRoot()
    }

    /// 1-based ranks, ties sharing the average of their positions (as scipy's rankdata).
    public static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var out = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            for k in i...j { out[order[k]] = Double(i + j) / 2 + 1 }
            i = j + 1
        }
        return out
    }
}
