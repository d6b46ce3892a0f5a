// Sentence-transformers directories: written, read back unchanged, laid out as Python expects, and
// refused clearly when a config field is missing.
import Foundation
import XCTest
import LodestoneModel
import LodestoneText

final class ModelDirectoryTests: XCTestCase {
    var fixtureVocab: URL { bertBaseUncasedVocab }

    func makeDirectory() throws -> SentenceTransformerDirectory {
        let config = EncoderConfig(mosaic: true, hidden: 8, layers: 1, heads: 2, intermediate: 16, vocabSize: 30528)
        let weights: [(String, TensorData)] = [
            ("bert.embeddings.LayerNorm.weight", TensorData(shape: [8], values: (0..<8).map { Float($0) / 8 })),
            ("bert.embeddings.LayerNorm.bias", TensorData(shape: [8], values: [Float](repeating: -0.25, count: 8))),
            ("cls.predictions.bias", TensorData(shape: [2], values: [9, 9])),
        ]
        return SentenceTransformerDirectory(config: config, weights: weights,
                                            tokenizer: try WordPieceTokenizer(vocabFile: fixtureVocab), maxSeqLength: 4096)
    }

    func testWriteThenReadKeepsEverythingButTheMLMHead() throws {
        let root = try temporaryDirectory("stdir"); defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("model")
        let original = try makeDirectory()
        try original.write(to: out)
        try original.write(to: out) // rewriting replaces atomically
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path)
        XCTAssertEqual(names, ["model"], "no staging directories may be left behind")

        let back = try SentenceTransformerDirectory.read(out)
        XCTAssertEqual(back.maxSeqLength, 4096)
        XCTAssertEqual(back.config.hidden, 8)
        XCTAssertTrue(back.config.isMosaic)
        XCTAssertEqual(back.weights.map(\.0), ["bert.embeddings.LayerNorm.bias", "bert.embeddings.LayerNorm.weight"])
        XCTAssertEqual(back.weights[1].1.values, (0..<8).map { Float($0) / 8 })
        XCTAssertEqual(back.tokenizer.vocabSize, 30522)
        XCTAssertEqual(back.tokenizer.encode("Hello world"), [101, 7592, 2088, 102])

        let modules = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("modules.json"))) as! [[String: Any]]
        XCTAssertEqual(modules.map { $0["type"] as! String }, ["sentence_transformers.models.Transformer",
            "sentence_transformers.models.Pooling", "sentence_transformers.models.Normalize"])
        let pooling = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("1_Pooling/config.json"))) as! [String: Any]
        XCTAssertEqual(pooling["word_embedding_dimension"] as? Int, 8)
        XCTAssertEqual(pooling["pooling_mode_mean_tokens"] as? Bool, true)
        var isDir: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("2_Normalize").path, isDirectory: &isDir) && isDir.boolValue)
    }

    /// A trainer saves its model streamed from the parameter buffer (no copy): the same file, byte for byte, as
    /// writing copies of the tensors, and the MLM head still left out.
    func testStreamedWeightsWriteTheBytesOfCopiedOnes() throws {
        let root = try temporaryDirectory("stream"); defer { try? FileManager.default.removeItem(at: root) }
        let config = EncoderConfig(mosaic: true, hidden: 8, layers: 1, heads: 2, intermediate: 16, vocabSize: 64)
        let encoder = SentenceEncoder(config: config, randomSeed: 3)
        var copied = try makeDirectory()
        copied.weights = encoder.namedWeights() + [("cls.predictions.bias", TensorData(shape: [2], values: [9, 9]))]
        try copied.write(to: root.appendingPathComponent("copied"))
        var streamed = try makeDirectory()
        streamed.weights = []
        let head = StreamedTensors(entries: [("cls.predictions.bias", [2])]) { _, _ in XCTFail("the MLM head is not written") }
        let weights = encoder.streamedWeights()
        streamed.streamedWeights = StreamedTensors(entries: weights.entries + head.entries) { i, sink in
            try (i < weights.entries.count ? weights.write(i, sink) : head.write(i, sink))
        }
        try streamed.write(to: root.appendingPathComponent("streamed"))
        let a = try Data(contentsOf: root.appendingPathComponent("copied/model.safetensors"))
        let b = try Data(contentsOf: root.appendingPathComponent("streamed/model.safetensors"))
        XCTAssertEqual(a, b)
        XCTAssertEqual(try SentenceTransformerDirectory.read(root.appendingPathComponent("streamed")).weights.count,
                       encoder.layout.entries.count)
    }

    func testConfigMissingAFieldNamesFileAndField() throws {
        let root = try temporaryDirectory("stdir"); defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("model")
        try makeDirectory().write(to: out)
        let configURL = out.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        config.removeValue(forKey: "hidden_size")
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        XCTAssertThrowsError(try SentenceTransformerDirectory.read(out)) { error in
            XCTAssertTrue("\(error)".contains("hidden_size"), "\(error)")
            XCTAssertTrue("\(error)".contains(configURL.path), "\(error)")
        }
    }

    func testOtherPoolingIsReadAndMissingWeightsAreRefused() throws {
        let root = try temporaryDirectory("stdir"); defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("model")
        try makeDirectory().write(to: out)
        let pooling = out.appendingPathComponent("1_Pooling/config.json")
        try Data(#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#.utf8).write(to: pooling)
        XCTAssertEqual(try SentenceTransformerDirectory.read(out).pooling.modes, [.cls])
        try Data(#"{"pooling_mode": "median"}"#.utf8).write(to: pooling)
        XCTAssertThrowsError(try SentenceTransformerDirectory.read(out)) { XCTAssertTrue("\($0)".contains("field 'pooling_mode': unknown mode 'median'"), "\($0)") }
        try Data(#"{"pooling_mode": "cls"}"#.utf8).write(to: pooling)
        try FileManager.default.removeItem(at: out.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try SentenceTransformerDirectory.read(out)) { XCTAssertTrue("\($0)".contains("no model.safetensors"), "\($0)") }
    }
}
