// Evaluation metrics on cases small enough to compute by hand (sentence-transformers' definitions: binary
// relevance, queries without relevant documents left out, ties in the gold scores ranked by their average), and
// the evaluation-set readers on bad input.
import Foundation
import XCTest
@testable import LodestoneCore

final class EvaluationTests: XCTestCase {
    func testRetrievalMetricsMatchHandComputedValues() {
        let corpus: [[Float]] = [[1, 0], [0.8, 0.6], [0, 1], [-1, 0]]
        let queries: [[Float]] = [[1, 0], [0, 1], [0, -1]]
        // q0 ranks d0, d1, d2, d3 with d1, d2 relevant; q1 ranks d2 first, relevant; q2 has nothing relevant.
        let m = RetrievalMetrics.informationRetrieval(queries: queries, corpus: corpus, relevant: [[1, 2], [2], []], dimension: 2)
        let expected: [String: Double] = [
            "cosine_accuracy@1": 0.5, "cosine_accuracy@3": 1, "cosine_accuracy@5": 1, "cosine_accuracy@10": 1,
            "cosine_precision@1": 0.5, "cosine_recall@1": 0.5,
            "cosine_precision@3": 0.5, "cosine_recall@3": 1,
            "cosine_precision@5": 0.3, "cosine_recall@5": 1,
            "cosine_precision@10": 0.15, "cosine_recall@10": 1,
            "cosine_mrr@10": 0.75,
            // q0: (1/log2 3 + 1/log2 4) / (1 + 1/log2 3) = 0.693426; q1: 1
            "cosine_ndcg@10": (0.6934264036172708 + 1) / 2,
            // q0: (1/2 + 2/3) / 2 = 7/12; q1: 1
            "cosine_map@100": (7.0 / 12 + 1) / 2,
        ]
        XCTAssertEqual(Set(m.keys), Set(expected.keys))
        for (name, value) in expected { XCTAssertEqual(m[name]!, value, accuracy: 1e-6, name) }
    }

    func testTiedScoresGoToTheLowerIndex() {
        XCTAssertEqual(Retrieval.best([0.5, 0.9, 0.5, 0.9, 0.1], k: 3).map(\.index), [1, 3, 0])
        XCTAssertEqual(Retrieval.best([0.2, 0.1], k: 5).map(\.index), [0, 1])
    }

    func testSimilarityPearsonAndSpearman() {
        let angles: [Float] = [0.1, 0.5, 0.4, 0.9].map { acos($0) }
        let first = angles.map { _ in [Float(1), 0] }
        let second = angles.map { [cos($0), sin($0)] }
        let m = SimilarityMetrics.similarity(first: first, second: second, gold: [1, 2, 3, 4])
        XCTAssertEqual(m["pearson_cosine"]!, 1.15 / (5 * 0.3275).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(m["spearman_cosine"]!, 0.8, accuracy: 1e-6)
        XCTAssertEqual(SimilarityMetrics.ranks([3, 1, 1, 2]), [4, 1.5, 1.5, 3])
    }

    // MARK: readers

    var root: URL!
    override func setUpWithError() throws { root = try temporaryDirectory("eval") }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    func beir(corpus: String, queries: String, qrels: String) throws -> String {
        let dir = root.appendingPathComponent("beir")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("qrels"), withIntermediateDirectories: true)
        try Data(corpus.utf8).write(to: dir.appendingPathComponent("corpus.jsonl"))
        try Data(queries.utf8).write(to: dir.appendingPathComponent("queries.jsonl"))
        try Data(qrels.utf8).write(to: dir.appendingPathComponent("qrels/test.tsv"))
        return dir.path
    }

    func testBEIRDirectoryIsReadWithTitlesAndGradedQrels() throws {
        let dir = try beir(corpus: "{\"_id\": \"d1\", \"title\": \"T\", \"text\": \"one\"}\r\n{\"_id\": 2, \"text\": \"two\"}\n",
                           queries: "{\"_id\": \"q1\", \"text\": \"first\"}\n{\"_id\": \"q2\", \"text\": \"second\"}\n",
                           qrels: "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\t2\t1\nq2\td1\t0\n")
        guard case .retrieval(let set) = try EvaluationData.load(dir) else { return XCTFail("not recognised as retrieval") }
        XCTAssertEqual(set.corpusTexts, ["T one", "two"])
        XCTAssertEqual(set.queryIDs, ["q1"], "q2 has only a score-0 judgement: no relevant document")
        XCTAssertEqual(set.relevant, [[0, 1]])
        XCTAssertEqual(set.split, "test")
    }

    /// BEIR sets as the Hub ships them: corpus.jsonl.gz, queries.jsonl.gz (and qrels that may be gzipped too).
    func testGzippedBEIRFilesAreRead() throws {
        let dir = try beir(corpus: "{\"_id\": \"d1\", \"text\": \"one\"}\n{\"_id\": \"d2\", \"text\": \"two\"}\n",
                           queries: "{\"_id\": \"q1\", \"text\": \"first\"}\n", qrels: "query-id\tcorpus-id\tscore\nq1\td2\t1\n")
        for file in ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = [dir + "/" + file]   // replaces the file by file.gz
            try p.run(); p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
        }
        guard case .retrieval(let set) = try EvaluationData.load(dir) else { return XCTFail("not recognised as retrieval") }
        XCTAssertEqual(set.corpusTexts, ["one", "two"])
        XCTAssertEqual(set.queryTexts, ["first"])
        XCTAssertEqual(set.relevant, [[1]])
        XCTAssertEqual(set.split, "test")
    }

    /// Constant gold scores leave Pearson and Spearman undefined: said so in words and written as null, never NaN.
    func testUndefinedCorrelationIsNullWithANoteNamingTheData() throws {
        var pairs = ScoredPairs()
        pairs.first = ["a", "b", "c"]; pairs.second = ["d", "e", "f"]; pairs.scores = [3, 3, 3]
        let metrics = SimilarityMetrics.similarity(first: [[1, 0], [0, 1], [1, 1]], second: [[1, 0], [1, 0], [0, 1]], gold: pairs.scores)
        let result = EvaluationResult(set: .similarity(pairs), data: "sts/constant.tsv", split: nil, model: "m", metrics: metrics)
        XCTAssertEqual(result.lines, ["pearson_cosine: undefined", "spearman_cosine: undefined"])
        XCTAssertEqual(result.notes, ["sts/constant.tsv: pearson_cosine and spearman_cosine undefined: every gold score is 3.0, so a correlation with it has no value"])
        let json = try result.json()
        XCTAssertFalse(String(decoding: json, as: UTF8.self).lowercased().contains("nan"))
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        let values = object?["metrics"] as? [String: Any]
        XCTAssertTrue(values?["pearson_cosine"] is NSNull, "\(String(describing: values))")
        XCTAssertEqual(object?["notes"] as? [String], result.notes)
    }

    func testBEIRBadInputsNameFileLineAndField() throws {
        var dir = try beir(corpus: "{\"title\": \"x\", \"text\": \"t\"}\n", queries: "{\"_id\": \"q\", \"text\": \"x\"}\n", qrels: "q\td\t1\n")
        XCTAssertThrowsError(try EvaluationData.load(dir)) { XCTAssertEqual("\($0)", "\(dir)/corpus.jsonl:1: field '_id': missing or not a string") }
        try FileManager.default.removeItem(atPath: dir)
        dir = try beir(corpus: "{\"_id\": \"d\", \"text\": \"t\"}\n", queries: "{\"_id\": \"q\", \"text\": \"x\"}\n",
                       qrels: "query-id\tcorpus-id\tscore\nq\tnope\t1\n")
        XCTAssertThrowsError(try EvaluationData.load(dir)) { XCTAssertEqual("\($0)", "\(dir)/qrels/test.tsv:2: field 'corpus-id': unknown document 'nope'") }
        try FileManager.default.removeItem(atPath: dir)
        dir = try beir(corpus: "{\"_id\": \"d\", \"text\": \"t\"}\n", queries: "{\"_id\": \"q\", \"text\": \"x\"}\n", qrels: "q\td\thigh\n")
        XCTAssertThrowsError(try EvaluationData.load(dir)) { XCTAssertEqual("\($0)", "\(dir)/qrels/test.tsv:1: field 'score': 'high' is not a number") }
        XCTAssertThrowsError(try EvaluationData.load(dir, split: "dev")) { XCTAssertTrue("\($0)".contains("no split 'dev' (there is test)"), "\($0)") }
        let notBEIR = root.appendingPathComponent("empty-dir")
        try FileManager.default.createDirectory(at: notBEIR, withIntermediateDirectories: true)
        XCTAssertThrowsError(try EvaluationData.load(notBEIR.path)) { XCTAssertTrue("\($0)".contains("not a BEIR directory"), "\($0)") }
    }

    func testScoredPairsFromTSVAndJSONLines() throws {
        let tsv = root.appendingPathComponent("sts.tsv")
        try Data("score\tsentence1\tsentence2\n4.5\ta\tb\n0\tc\td\n".utf8).write(to: tsv)
        guard case .similarity(let p) = try EvaluationData.load(tsv.path) else { return XCTFail("not scored pairs") }
        XCTAssertEqual(p.first, ["a", "c"]); XCTAssertEqual(p.second, ["b", "d"]); XCTAssertEqual(p.scores, [4.5, 0])
        let jsonl = root.appendingPathComponent("sts.jsonl")
        try Data("{\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": 1}\n{\"sentence1\": \"c\", \"sentence2\": \"d\", \"score\": \"x\"}\n".utf8).write(to: jsonl)
        XCTAssertThrowsError(try EvaluationData.load(jsonl.path)) { XCTAssertEqual("\($0)", "\(jsonl.path):2: field 'score': missing or not a number") }
        try Data("sentence1\tsentence2\tscore\na\tb\tnan-ish\n".utf8).write(to: tsv)
        XCTAssertThrowsError(try EvaluationData.load(tsv.path)) { XCTAssertEqual("\($0)", "\(tsv.path):2: field 'score': 'nan-ish' is not a number") }
        try Data("first\tsecond\tscore\n".utf8).write(to: tsv)
        XCTAssertThrowsError(try EvaluationData.load(tsv.path)) { XCTAssertTrue("\($0)".contains("field 'sentence1'"), "\($0)") }
    }

    func testPairsFileBecomesRetrievalOfEachAnchorsPositive() throws {
        let pairs = root.appendingPathComponent("pairs.jsonl")
        try Data("{\"anchor\": \"q1\", \"positive\": \"p1\"}\n[\"q2\", \"p2\"]\n".utf8).write(to: pairs)
        guard case .pairs(let set) = try EvaluationData.load(pairs.path) else { return XCTFail("not pairs") }
        XCTAssertEqual(set.queryTexts, ["q1", "q2"]); XCTAssertEqual(set.corpusTexts, ["p1", "p2"])
        XCTAssertEqual(set.relevant, [[0], [1]])
    }
}

/// The Evaluator seam: each evaluator scores at a truncation width when asked, as sentence-transformers' truncate_dim.
extension EvaluationTests {
    /// One query, two documents. At full width document 1 is nearer (cosine 0.8 against 0.6); on the first two
    /// dimensions, re-normalized, document 0 is (1 against 0.8). Document 0 is the relevant one.
    func testRetrievalEvaluatorScoresAtTheTruncationWidth() throws {
        var set = RetrievalSet()
        set.queryIDs = ["q"]; set.queryTexts = ["query"]
        set.corpusIDs = ["a", "b"]; set.corpusTexts = ["doc a", "doc b"]
        set.relevant = [[0]]
        let vectors: [String: [Float]] = ["query": [1, 0, 0], "doc a": [0.6, 0, 0.8], "doc b": [0.8, 0.6, 0]]
        let embed: Embedder = { texts in texts.map { vectors[$0]! } }
        let evaluator = RetrievalEvaluator(data: "made", set: set, pairs: false)
        let full = try evaluator.evaluate(model: "m", truncateDim: nil, embed: embed)
        let short = try evaluator.evaluate(model: "m", truncateDim: 2, embed: embed)
        XCTAssertEqual(full.metrics["cosine_accuracy@1"], 0)
        XCTAssertEqual(short.metrics["cosine_accuracy@1"], 1)
        XCTAssertNil(full.dimension)
        XCTAssertEqual(short.dimension, 2)
        XCTAssertThrowsError(try evaluator.evaluate(model: "m", truncateDim: 4, embed: embed)) {
            XCTAssertTrue("\($0)".contains("cannot truncate embeddings of 3 dimensions to 4"), "\($0)")
        }
    }

    /// Scored pairs at a width: the cosines of the truncated, re-normalized pairs.
    func testSimilarityEvaluatorScoresAtTheTruncationWidth() throws {
        var pairs = ScoredPairs()
        pairs.first = ["x", "y", "z"]; pairs.second = ["x2", "y2", "z2"]; pairs.scores = [1, 2, 3]
        // Full width: cosines 0.6, 0.8, 0.96 (Spearman 1). First 2 dims, re-normalized: 1, 0.8, 0.96 (Spearman −0.5).
        let vectors: [String: [Float]] = ["x": [1, 0, 0], "x2": [0.6, 0, 0.8], "y": [1, 0, 0], "y2": [0.8, 0.6, 0],
                                          "z": [0, 1, 0], "z2": [0.28, 0.96, 0]]
        let embed: Embedder = { texts in texts.map { vectors[$0]! } }
        let evaluator = SimilarityEvaluator(data: "made.tsv", pairs: pairs)
        XCTAssertEqual(try evaluator.evaluate(model: "m", truncateDim: nil, embed: embed).metrics["spearman_cosine"]!, 1, accuracy: 1e-9)
        XCTAssertEqual(try evaluator.evaluate(model: "m", truncateDim: 2, embed: embed).metrics["spearman_cosine"]!, -0.5, accuracy: 1e-9)
    }
}
