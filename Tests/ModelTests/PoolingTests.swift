// Every pooling setup sentence-transformers writes: modes computed by hand on a 3-token example, the configs of
// 2.x (boolean fields) and 6.x (`pooling_mode`) read from copies of files those versions saved
// (Tests/ModelTests/Fixtures, made by Scripts/make-st-fixtures.sh), prompts and max_seq_length.
import Foundation
import XCTest
@testable import LodestoneCore

final class PoolingTests: XCTestCase {
    // Three tokens of width 2: [1, 2], [3, -4], [5, 0].
    let tokens: [Float] = [1, 2, 3, -4, 5, 0]

    func pool(_ modes: [SentencePooling.Mode], skip: Int = 0, normalize: Bool = false) -> [Float] {
        SentencePooling(modes: modes, normalize: normalize).pool(tokens, length: 3, dim: 2, skip: skip)
    }

    func assertClose(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6, "\(a) vs \(b)", file: file, line: line) }
    }

    func testEachModeByHand() {
        assertClose(pool([.mean]), [3, -2.0 / 3])
        assertClose(pool([.max]), [5, 2])
        assertClose(pool([.cls]), [1, 2])
        assertClose(pool([.lastToken]), [5, 0])
        assertClose(pool([.meanSqrtLength]), [9 / Float(3).squareRoot(), -2 / Float(3).squareRoot()])
        assertClose(pool([.weightedMean]), [22.0 / 6, -1])          // weights 1, 2, 3
        // Concatenated in the order given, then one L2 normalization over the whole vector.
        let raw: [Float] = [1, 2, 3, -2.0 / 3]
        let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        assertClose(pool([.cls, .mean], normalize: true), raw.map { $0 / norm })
    }

    func testAPromptLeftOutOfPooling() {
        // The first token (a one-token prompt with its [CLS]) is masked out: pooling sees rows 2 and 3.
        assertClose(pool([.mean], skip: 1), [4, -2])
        assertClose(pool([.cls], skip: 1), [3, -4])
        assertClose(pool([.max], skip: 1), [5, 0])
        assertClose(pool([.weightedMean], skip: 1), [(6 + 15) / 5.0, -8 / 5.0])
        assertClose(pool([.lastToken], skip: 3), [0, 0])
    }

    var fixtures: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures") }

    func testConfigsSavedBySentenceTransformers2And6() throws {
        let expected: [String: SentencePooling] = [
            "mean": SentencePooling(modes: [.mean]),
            "cls-max": SentencePooling(modes: [.cls, .max], normalize: false),
            "mean-lasttoken-prompt": SentencePooling(modes: [.mean, .lastToken], includePrompt: false),
            "meansqrt-weighted": SentencePooling(modes: [.meanSqrtLength, .weightedMean]),
        ]
        var seen = 0
        for version in ["st2", "st6"] {
            for (name, pooling) in expected {
                let dir = fixtures.appendingPathComponent("\(version)-\(name)")
                XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path), "missing fixture \(dir.lastPathComponent)")
                XCTAssertEqual(try SentencePooling.read(directory: dir), pooling, dir.lastPathComponent)
                seen += 1
            }
            let prompts = try SentencePrompts.read(directory: fixtures.appendingPathComponent("\(version)-mean-lasttoken-prompt"))
            XCTAssertEqual(prompts.prompts["query"], "query: ")
            XCTAssertEqual(prompts.defaultName, "query")
        }
        XCTAssertEqual(seen, 8)
    }

    func testBadPoolingAndPromptConfigsNameFileAndField() throws {
        let dir = try temporaryDirectory("pool"); defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("1_Pooling/config.json")
        try Data(#"{"pooling_mode": ["mean", "median"]}"#.utf8).write(to: config)
        XCTAssertThrowsError(try SentencePooling.read(directory: dir)) { XCTAssertTrue("\($0)".hasPrefix("\(config.path): field 'pooling_mode': unknown mode 'median'"), "\($0)") }
        try Data(#"{"pooling_mode": "mean", "include_prompt": "no"}"#.utf8).write(to: config)
        XCTAssertThrowsError(try SentencePooling.read(directory: dir)) { XCTAssertEqual("\($0)", "\(config.path): field 'include_prompt': not true or false") }
        let st = dir.appendingPathComponent("config_sentence_transformers.json")
        try Data(#"{"prompts": {"query": "q: "}, "default_prompt_name": "passage"}"#.utf8).write(to: st)
        XCTAssertThrowsError(try SentencePrompts.read(directory: dir)) { XCTAssertTrue("\($0)".contains("field 'default_prompt_name'"), "\($0)") }
        XCTAssertThrowsError(try SentencePrompts(prompts: ["query": "q: "]).text(named: "doc", file: st.path)) {
            XCTAssertEqual("\($0)", "\(st.path): field 'prompts': no prompt named 'doc' (there is query)")
        }
    }

    /// A model directory from the bert-tiny fixture (weights, config, vocab) with one saved setup's JSON files.
    func model(_ setup: String) throws -> (SentenceModel, URL) {
        let dir = try temporaryDirectory("st")
        let tiny = mosaicTiny.deletingLastPathComponent().appendingPathComponent("bert-tiny")
        for f in ["config.json", "model.safetensors", "vocab.txt"] {
            try FileManager.default.copyItem(at: tiny.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let saved = fixtures.appendingPathComponent(setup)
        for f in try FileManager.default.subpathsOfDirectory(atPath: saved.path) where f.hasSuffix(".json") {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(f).deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: saved.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        return (try SentenceModel.load(dir), dir)
    }

    func testModelsEmbedThroughTheirPoolingAndPrompts() throws {
        let texts = ["a man is playing a guitar.", "how do magnets work"]
        for setup in ["st6-mean", "st2-cls-max", "st6-mean-lasttoken-prompt", "st2-meansqrt-weighted"] {
            let (m, dir) = try model(setup); defer { try? FileManager.default.removeItem(at: dir) }
            let prompt = try m.promptText(.modelDefault)
            let skip = m.pooling.includePrompt ? 0 : m.promptLength(prompt)
            let ids = m.tokenize(texts, prompt: prompt)
            let tokens = try m.encoder.tokenEmbeddings(ids)
            let byHand = zip(ids, tokens).map { m.pooling.pool($1, length: $0.count, dim: m.config.hidden, skip: skip) }
            let got = try m.embed(texts)
            XCTAssertEqual(got.count, 2)
            for (a, b) in zip(got, byHand) { assertClose(a, b) }
            XCTAssertEqual(m.dimension, m.config.hidden * m.pooling.modes.count, setup)
            if setup == "st6-mean-lasttoken-prompt" {
                XCTAssertEqual(prompt, "query: ")
                XCTAssertEqual(skip, m.tokenizer.encode("query: ", maxLength: nil).count - 1)
                XCTAssertNotEqual(try m.embed(texts, prompt: .none), got, "the default prompt changes the embedding")
            }
        }
    }

    func testMaxSeqLengthWithoutSentenceBertConfig() throws {
        let (m, dir) = try model("st6-mean"); defer { try? FileManager.default.removeItem(at: dir) }
        // bert-tiny: 64 positions; sentence-transformers 6 writes no max_seq_length, the tokenizer says more.
        XCTAssertEqual(m.maxSeqLength, 64)
        let tokenizerConfig = dir.appendingPathComponent("tokenizer_config.json")
        var object = (try JSONSerialization.jsonObject(with: Data(contentsOf: tokenizerConfig)) as? [String: Any]) ?? [:]
        object["model_max_length"] = 32
        try JSONSerialization.data(withJSONObject: object).write(to: tokenizerConfig)
        XCTAssertEqual(try SentenceModel.load(dir).maxSeqLength, 32)
    }
}
