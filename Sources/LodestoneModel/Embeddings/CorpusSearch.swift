// 05-embed search as one call: a corpus (texts the model embeds, stored embeddings from `05-embed encode`, or both)
// searched by queries (texts or stored embeddings) for their exact top-k by cosine similarity, tile by tile
// (Retrieval.search). A memory-mapped corpus is read in place, never copied.
//   let corpus = try CorpusSearch.Matrix.make(texts: docs, stored: nil, textsFile: "docs.txt", model: m)
//   let hits = try CorpusSearch(corpus: corpus).search(CorpusSearch.Matrix.make(texts: ["query"], …), k: 5)
import Foundation
import LodestoneBase
import LodestoneTensor

public struct CorpusSearch {
    /// Rows of embeddings: a memory-mapped .npy file, or rows a model computed.
    public enum Matrix {
        case stored(NpyMatrix)
        case computed([Float], rows: Int, dimension: Int)

        public var rows: Int {
            switch self { case .stored(let m): return m.rows; case .computed(_, let rows, _): return rows }
        }
        public var dimension: Int {
            switch self { case .stored(let m): return m.dimension; case .computed(_, _, let d): return d }
        }
        func withRows<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
            switch self {
            case .stored(let m): return m.withRows(body)
            case .computed(let values, _, _): return values.withUnsafeBufferPointer { body($0.baseAddress!) }
            }
        }

        /// Stored embeddings when given (checked against `texts`' count when both are), else `texts` embedded by
        /// `model` with `prompt`. `textsFile` names the texts in errors.
        public static func make(texts: [String]?, stored: NpyMatrix?, textsFile: String, model: SentenceModel?,
                                batchSize: Int = 32, prompt: SentenceModel.Prompt = .modelDefault) throws -> Matrix {
            if let stored {
                if let texts, stored.rows != texts.count {
                    throw InputError(file: stored.path, field: "shape", reason: "\(stored.rows) rows, but \(textsFile) holds \(texts.count) texts")
                }
                return .stored(stored)
            }
            guard let texts, let model else { preconditionFailure("texts and a model, or stored embeddings") }
            let rows = try model.embed(texts, batchSize: batchSize, prompt: prompt)
            return .computed(rows.flatMap { $0 }, rows: rows.count, dimension: model.dimension)
        }
    }

    public let corpus: Matrix
    public init(corpus: Matrix) { self.corpus = corpus }

    /// Each query's `k` nearest corpus rows (index, cosine), best first; ties go to the lower index. Stored
    /// query embeddings of another width than the corpus's are refused, naming the file. `bf16` (where the CPU has
    /// it) scores in bf16 and re-ranks in fp32: the same hits.
    public func search(_ queries: Matrix, k: Int, precision: MatmulPrecision = .fp32) throws -> [[(index: Int, score: Float)]] {
        guard queries.dimension == corpus.dimension else {
            let file: String
            if case .stored(let m) = queries { file = m.path } else if case .stored(let m) = corpus { file = m.path } else { file = "embeddings" }
            throw InputError(file: file, field: "shape", reason: "queries of dimension \(queries.dimension) against a corpus of dimension \(corpus.dimension)")
        }
        return queries.withRows { q in
            corpus.withRows { c in
                Retrieval.search(queries: q, queryCount: queries.rows, corpus: c, corpusCount: corpus.rows,
                                 dimension: corpus.dimension, k: k, precision: precision)
            }
        }
    }
}
