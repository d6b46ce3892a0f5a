// The one seam 04-training --eval and 05-embed evaluate score through: an evaluation set read from a file, which
// embeds what it needs through a closure (any model, any precision) and scores it as sentence-transformers'
// evaluator for that kind of set would, at full width or at a Matryoshka truncation.
//   let evaluator = try Evaluators.load("data/eval/retrieval")
//   let result = try evaluator.evaluate(model: "m", truncateDim: 64) { try model.embed($0) }
import Foundation
import LodestoneBase
import LodestoneData
import LodestoneModel

/// Texts → one embedding each, in order.
public typealias Embedder = ([String]) throws -> [[Float]]

public protocol Evaluator: Sendable {
    /// The file or directory the set was read from (named in results and errors).
    var data: String { get }
    /// "retrieval", "pairs" or "similarity".
    var task: String { get }
    /// How many texts the set holds, in one line.
    var summary: String { get }
    /// Scores the embeddings `embed` gives; with `truncateDim`, of their first that many dimensions, re-normalized
    /// (sentence-transformers' `truncate_dim`). The result is named after `model`.
    func evaluate(model: String, truncateDim: Int?, embed: Embedder) throws -> EvaluationResult
}

public enum Evaluators {
    /// The evaluator of an evaluation set: a BEIR directory (InformationRetrievalEvaluator), scored pairs in .tsv or
    /// .jsonl (EmbeddingSimilarityEvaluator), or anchor/positive pairs (each anchor against all positives), at most
    /// `limit` of them.
    public static func load(_ path: String, split: String? = nil, limit: Int? = nil) throws -> any Evaluator {
        switch try EvaluationData.load(path, split: split) {
        case .retrieval(let set): return RetrievalEvaluator(data: path, set: set, pairs: false)
        case .pairs(var set):
            if let limit { set = RetrievalSet(pairs: Array(zip(set.queryTexts, set.corpusTexts).prefix(limit))) }
            guard !set.queryIDs.isEmpty else { throw InputError(file: path, reason: "no pairs to evaluate") }
            return RetrievalEvaluator(data: path, set: set, pairs: true)
        case .similarity(let pairs):
            guard pairs.count >= 2 else { throw InputError(file: path, reason: "need at least 2 scored pairs") }
            return SimilarityEvaluator(data: path, pairs: pairs)
        }
    }
}

/// Embeddings from `embed`, cut to their first `truncateDim` dimensions and re-normalized when it is given.
func embeddings(_ texts: [String], truncateDim: Int?, _ embed: Embedder) throws -> [[Float]] {
    let full = try embed(texts)
    guard let d = truncateDim else { return full }
    return try full.map { row in
        guard (1...row.count).contains(d) else {
            throw InputError(file: "--truncate-dim", reason: "cannot truncate embeddings of \(row.count) dimensions to \(d)")
        }
        return truncatedNormalized(row, d)
    }
}

/// InformationRetrievalEvaluator over a BEIR set, or over anchor/positive pairs (each anchor's positive the one
/// relevant document among all positives).
public struct RetrievalEvaluator: Evaluator {
    public let data: String
    public let set: RetrievalSet
    public let pairs: Bool
    public init(data: String, set: RetrievalSet, pairs: Bool) { self.data = data; self.set = set; self.pairs = pairs }
    public var task: String { pairs ? "pairs" : "retrieval" }
    public var summary: String {
        pairs ? "pairs: \(set.queryIDs.count) anchors against all positives"
              : "retrieval, split \(set.split): \(set.queryIDs.count) queries, \(set.corpusIDs.count) documents"
    }

    public func evaluate(model: String, truncateDim: Int?, embed: Embedder) throws -> EvaluationResult {
        let queries = try embeddings(set.queryTexts, truncateDim: truncateDim, embed)
        let corpus = try embeddings(set.corpusTexts, truncateDim: truncateDim, embed)
        let metrics = RetrievalMetrics.informationRetrieval(queries: queries, corpus: corpus, relevant: set.relevant,
                                                            dimension: corpus.first?.count ?? queries.first?.count ?? 0)
        var result = EvaluationResult(set: pairs ? .pairs(set) : .retrieval(set), data: data, split: pairs ? nil : set.split,
                                      model: model, metrics: metrics)
        result.dimension = truncateDim
        return result
    }
}

/// EmbeddingSimilarityEvaluator over scored pairs.
public struct SimilarityEvaluator: Evaluator {
    public let data: String
    public let pairs: ScoredPairs
    public init(data: String, pairs: ScoredPairs) { self.data = data; self.pairs = pairs }
    public var task: String { "similarity" }
    public var summary: String { "scored pairs: \(pairs.count)" }

    public func evaluate(model: String, truncateDim: Int?, embed: Embedder) throws -> EvaluationResult {
        let metrics = SimilarityMetrics.similarity(first: try embeddings(pairs.first, truncateDim: truncateDim, embed),
                                                   second: try embeddings(pairs.second, truncateDim: truncateDim, embed),
                                                   gold: pairs.scores)
        var result = EvaluationResult(set: .similarity(pairs), data: data, split: nil, model: model, metrics: metrics)
        result.dimension = truncateDim
        return result
    }
}
