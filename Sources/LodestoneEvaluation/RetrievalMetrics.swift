// sentence-transformers' InformationRetrievalEvaluator, cosine metrics under its names: accuracy/precision/recall@k,
// MRR@10, nDCG@10, MAP@100, binary relevance, queries without relevant documents left out. Every score is a cosine
// whatever the model's last module (Retrieval.search normalizes, as sentence-transformers' cos_sim does).
import Foundation
import LodestoneModel

public enum RetrievalMetrics {
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
                Retrieval.search(queries: q.baseAddress!, queryCount: used.count, corpus: c.baseAddress!, corpusCount: corpus.count,
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
}
