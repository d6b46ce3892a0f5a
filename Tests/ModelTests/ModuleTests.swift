// Model directories read whole: Transformer → Pooling → Dense → (no) Normalize as sentence-transformers saves and
// applies them (Tests/ModelTests/Fixtures/st6-dense, saved and scored by Scripts/make-st-fixtures.sh), cosine metrics
// and search on embeddings that are not unit length, and one clear line for every module setup not read.
import Foundation
import XCTest
@testable import LodestoneCore

final class ModuleTests: XCTestCase {
    var fixture: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/st6-dense") }

    struct Expected: Decodable {
        let texts: [String]
        let embeddings: [[Float]]
        let similarity: [String: Double]
        let retrieval: [String: Double]
        let search_top3: [[[Double]]]
    }

    var expected: Expected { get throws { try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixture.appendingPathComponent("expected.json"))) } }

    var dirs: [URL] = []
    override func tearDown() { dirs.forEach { try? FileManager.default.removeItem(at: $0) } }

    /// bert-tiny's weights, config and vocabulary with the fixture's module files.
    func modelDirectory() throws -> URL {
        let dir = try temporaryDirectory("dense"); dirs.append(dir)
        let tiny = mosaicTiny.deletingLastPathComponent().appendingPathComponent("bert-tiny")
        for f in ["config.json", "model.safetensors", "vocab.txt"] {
            try FileManager.default.copyItem(at: tiny.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        for f in ["modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "tokenizer_config.json",
                  "1_Pooling", "2_Dense"] {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        return dir
    }

    func testDenseModuleWithoutNormalizeEmbedsAsSentenceTransformers() throws {
        let model = try SentenceModel.load(try modelDirectory())
        let e = try expected
        XCTAssertEqual(model.dimension, 16)
        let got = try model.embed(e.texts)
        XCTAssertEqual(got.map(\.count), e.embeddings.map(\.count))
        for (a, b) in zip(got, e.embeddings) {
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }
        XCTAssertFalse(model.pooling.normalize)
        XCTAssertGreaterThan(abs(got[0].reduce(0) { $0 + $1 * $1 } - 1), 0.1, "the fixture's embeddings are not unit length")
    }

    func testCosineMetricsOfAModelWithoutNormalizeAreSentenceTransformers() throws {
        let model = try SentenceModel.load(try modelDirectory())
        let e = try expected
        for (data, values) in [("pairs.tsv", e.similarity), ("beir", e.retrieval)] {
            let metrics = try Evaluators.load(fixture.appendingPathComponent(data).path)
                .evaluate(model: "m", truncateDim: nil) { try model.embed($0) }.metrics
            XCTAssertFalse(values.isEmpty)
            for (name, value) in values { XCTAssertEqual(metrics[name] ?? .nan, value, accuracy: 1e-5, "\(data) \(name)") }
        }
    }

    func testSearchRanksByCosineWhateverTheEmbeddingsLength() throws {
        let model = try SentenceModel.load(try modelDirectory())
        let e = try expected
        let set = try EvaluationFiles.readBEIR(fixture.appendingPathComponent("beir").path, split: nil)
        let queries = try model.embed(["how do magnets work", "baking bread", "soccer teams", "railway travel", "musical instruments"]).flatMap { $0 }
        let corpus = try model.embed(set.corpusTexts).flatMap { $0 }
        let hits = queries.withUnsafeBufferPointer { q in
            corpus.withUnsafeBufferPointer { c in
                Retrieval.search(queries: q.baseAddress!, queryCount: 5, corpus: c.baseAddress!, corpusCount: set.corpusTexts.count,
                                 dimension: 16, k: 3, blockRows: 3)
            }
        }
        XCTAssertEqual(hits.count, e.search_top3.count)
        for (got, want) in zip(hits, e.search_top3) {
            XCTAssertEqual(got.map(\.index), want.map { Int($0[0]) })
            for (g, w) in zip(got, want) { XCTAssertEqual(Double(g.score), w[1], accuracy: 1e-5) }
        }
    }

    func testEvaluateCommandWritesSentenceTransformersCosineScores() throws {
        let dir = try modelDirectory()
        let json = dir.deletingLastPathComponent().appendingPathComponent("\(dir.lastPathComponent)-scores.json"); dirs.append(json)
        let r = try runStep("05-embed", ["evaluate", "--model", dir.path, "--data", fixture.appendingPathComponent("beir").path,
                                         "--json", json.path], testCase: Self.self)
        XCTAssertEqual(r.status, 0, r.output)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        let metrics = object?["metrics"] as? [String: Double] ?? [:]
        XCTAssertEqual(metrics["cosine_ndcg@10"] ?? .nan, try expected.retrieval["cosine_ndcg@10"]!, accuracy: 1e-5)
    }

    // MARK: module setups that are not read

    func write(_ text: String, _ url: URL) throws { try Data(text.utf8).write(to: url) }

    func modules(_ dir: URL, _ entries: [(String, String)]) throws {
        let list = entries.enumerated().map { i, e in #"{"idx": \#(i), "name": "\#(i)", "path": "\#(e.1)", "type": "\#(e.0)"}"# }
        try write("[" + list.joined(separator: ", ") + "]", dir.appendingPathComponent("modules.json"))
    }

    func assertRefused(_ dir: URL, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SentenceModel.load(dir), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
            for part in parts { XCTAssertTrue(text.contains(part), "\(text) lacks \(part)", file: file, line: line) }
        }
    }

    func testUnknownModuleTypeIsRefusedByName() throws {
        let dir = try modelDirectory()
        try modules(dir, [("sentence_transformers.models.Transformer", ""), ("sentence_transformers.models.Pooling", "1_Pooling"),
                          ("sentence_transformers.models.LSTM", "2_LSTM")])
        assertRefused(dir, [dir.appendingPathComponent("modules.json").path, "'sentence_transformers.models.LSTM'", "not implemented"])
    }

    func testMissingPoolingFolderIsRefused() throws {
        let dir = try modelDirectory()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("1_Pooling"))
        assertRefused(dir, [dir.appendingPathComponent("modules.json").path, "no folder '1_Pooling'"])
    }

    func testEveryPoolingModeOffIsRefused() throws {
        let dir = try modelDirectory()
        let config = dir.appendingPathComponent("1_Pooling/config.json")
        try write(#"{"word_embedding_dimension": 16, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": false, "pooling_mode_max_tokens": false}"#, config)
        assertRefused(dir, [config.path, "every pooling mode is off"])
    }

    func testWordEmbeddingDimensionThatDisagreesIsRefused() throws {
        let dir = try modelDirectory()
        let config = dir.appendingPathComponent("1_Pooling/config.json")
        try write(#"{"word_embedding_dimension": 96, "pooling_mode": "mean"}"#, config)
        assertRefused(dir, [config.path, "field 'word_embedding_dimension'", "96", "hidden_size is 16"])
    }

    func testDenseThatDoesNotFitIsRefused() throws {
        let dir = try modelDirectory()
        let config = dir.appendingPathComponent("2_Dense/config.json")
        try write(#"{"in_features": 32, "out_features": 16, "bias": true, "activation_function": "torch.nn.modules.activation.Tanh"}"#, config)
        assertRefused(dir, [config.path, "field 'in_features'", "dimension 16"])
        try write(#"{"in_features": 16, "out_features": 16, "activation_function": "my.own.Swish"}"#, config)
        assertRefused(dir, [config.path, "field 'activation_function'", "'my.own.Swish'"])
    }
}
