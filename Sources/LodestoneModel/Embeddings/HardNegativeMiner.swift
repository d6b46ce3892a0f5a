// Mining a whole data set: the corpus is embedded once (the one thing held whole: n × dim floats), then the anchors
// stream through in blocks: embed the block, exact top-k against the corpus in blocks through sgemm
// (Retrieval.search), choose each anchor's negatives, hand its rows to the caller. No anchor × corpus score matrix
// is ever held: a block's scores are at most `anchorBlock` × 8,192 floats.
import Foundation
import LodestoneBase

public enum HardNegativeMiner {
    /// Anchors embedded and searched at a time (32 MB of scores against a large corpus); corpus texts per embedding call.
    public static let anchorBlock = 1024, corpusBlock = 8192

    public enum Phase: String, Sendable { case corpus = "corpus texts embedded", anchors = "anchors mined" }

    /// What a run did: rows written and dropped, what the filters removed, the mean scores of what was written.
    public struct Summary: Sendable {
        public var rowsWritten = 0
        /// (anchor, positive) rows left out because fewer than `numNegatives` negatives passed the filters.
        public var rowsDropped = 0
        public var anchorsDropped = 0
        public var skipped = HardNegativeMining.Skipped()
        public var positiveScoreSum = 0.0, negativeScoreSum = 0.0, negativeCount = 0
        public init() {}
        public var meanPositiveScore: Double { positiveScoreSum / Double(max(rowsWritten, 1)) }
        public var meanNegativeScore: Double { negativeScoreSum / Double(max(negativeCount, 1)) }
    }

    /// Mines `plan`: every anchor's negatives by the plan's settings, written as rows `[anchor, positive, neg1, …]`
    /// through `emit`, one per anchor and distinct positive, in the plan's anchor order (sentence-transformers'
    /// n-tuple rows). `embedCorpus` and `embedAnchors` return one embedding of `dimension` floats per text (any
    /// length: scores are cosines). `progress` is told how far each phase is.
    public static func mine(_ plan: HardNegativeMining.Plan, dimension: Int,
                            embedCorpus: ([String]) throws -> [[Float]],
                            embedAnchors: ([String]) throws -> [[Float]],
                            progress: (Phase, _ done: Int, _ total: Int) -> Void = { _, _, _ in },
                            emit: ([String]) throws -> Void) throws -> Summary {
        let corpus = try unitRows(plan.corpus, dimension: dimension, block: corpusBlock, embed: embedCorpus) {
            progress(.corpus, $0, plan.corpus.count)
        }
        var summary = Summary()
        var generator = SplitMix64(seed: { if case .random(let seed) = plan.settings.sampling { return seed }; return 0 }())
        for start in stride(from: 0, to: plan.anchors.count, by: anchorBlock) {
            let block = start..<min(start + anchorBlock, plan.anchors.count)
            let anchors = try unitRows(Array(plan.anchors[block]), dimension: dimension, block: block.count, embed: embedAnchors) { _ in }
            let hits = anchors.withUnsafeBufferPointer { a in
                corpus.withUnsafeBufferPointer { c in
                    Retrieval.search(queries: a.baseAddress!, queryCount: block.count, corpus: c.baseAddress!,
                                     corpusCount: plan.corpus.count, dimension: dimension, k: plan.candidateCount)
                }
            }
            for (offset, a) in block.enumerated() {
                // Both sides are unit vectors: a positive's score is their dot product (cosine similarity).
                let positiveScores = plan.positives[a].map { p in
                    (0..<dimension).reduce(Float(0)) { $0 + anchors[offset * dimension + $1] * corpus[p * dimension + $1] }
                }
                let excluded = Set(plan.positives[a] + (plan.anchorInCorpus[a].map { [$0] } ?? []))
                guard let negatives = HardNegativeMining.choose(
                    hits: hits[offset], excluded: excluded, positiveScore: positiveScores.min()!, settings: plan.settings,
                    rangeMax: plan.rangeMax, skipped: &summary.skipped, generator: &generator) else {
                    summary.rowsDropped += plan.positives[a].count
                    summary.anchorsDropped += 1
                    continue
                }
                let negativeTexts = negatives.map { plan.corpus[$0.index] }
                for (p, score) in zip(plan.positives[a], positiveScores) {
                    try emit([plan.anchors[a], plan.corpus[p]] + negativeTexts)
                    summary.rowsWritten += 1
                    summary.positiveScoreSum += Double(score)
                    summary.negativeScoreSum += negatives.reduce(0) { $0 + Double($1.score) }
                    summary.negativeCount += negatives.count
                }
            }
            progress(.anchors, block.upperBound, plan.anchors.count)
        }
        return summary
    }

    /// Embeddings of `texts`, `block` texts per call, as one row-major array of unit rows (cosine = dot product).
    static func unitRows(_ texts: [String], dimension: Int, block: Int, embed: ([String]) throws -> [[Float]],
                         done: (Int) -> Void) throws -> [Float] {
        var rows = [Float]()
        rows.reserveCapacity(texts.count * dimension)
        for start in stride(from: 0, to: texts.count, by: max(block, 1)) {
            let chunk = Array(texts[start..<min(start + block, texts.count)])
            for row in try embed(chunk) {
                precondition(row.count == dimension, "an embedding of \(row.count) floats, expected \(dimension)")
                let norm = max(row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                rows.append(contentsOf: row.lazy.map { $0 / norm })
            }
            done(start + chunk.count)
        }
        return rows
    }
}

extension SentenceModel {
    /// The prompt sentence-transformers' `encode_query` uses: the one asked for, else the model's prompt named
    /// "query", else the model's default.
    public func queryPrompt(_ asked: Prompt?) -> Prompt {
        asked ?? (prompts.prompts["query"] != nil ? .named("query") : .modelDefault)
    }

    /// The prompt `encode_document` uses: the one asked for, else the model's "document", "passage" or "corpus"
    /// prompt (the first it has), else the model's default.
    public func documentPrompt(_ asked: Prompt?) -> Prompt {
        asked ?? ["document", "passage", "corpus"].first { prompts.prompts[$0] != nil }.map { .named($0) } ?? .modelDefault
    }
}
