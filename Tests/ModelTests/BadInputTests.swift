// Bad inputs fail with one clear error naming the file/tensor/field, never a crash.
import Foundation
import XCTest
@testable import LodestoneCore

final class BadInputTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("lodestone-bad-\(getpid())-\(name.hashValue)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A safetensors file assembled by hand: header JSON then raw bytes.
    func file(header: String, data: [UInt8], name: String = "t.safetensors") throws -> URL {
        let h = Array(header.utf8)
        var bytes = withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init)
        bytes += h + data
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func assertError(_ body: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected an error containing \(parts)", file: file, line: line)
        } catch {
            let text = "\(error)"
            for p in parts { XCTAssertTrue(text.contains(p), "'\(text)' lacks '\(p)'", file: file, line: line) }
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
        }
    }

    func testDecodesDTypesByConstruction() throws {
        // f16 0x3C00 = 1, 0xC000 = −2, 0x0001 = 2⁻²⁴; bf16 0x3F80 = 1; f32 0x40490FDB ≈ π; i32 7.
        let url = try file(header: #"{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[6,8]},"f":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"i":{"dtype":"I32","shape":[1],"data_offsets":[12,16]}}"#,
                           data: [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0x80, 0x3F, 0xDB, 0x0F, 0x49, 0x40, 7, 0, 0, 0])
        let t = try SafeTensors.read(url)
        XCTAssertEqual(t["h"]?.values, [1, -2, Float(pow(2.0, -24.0))])
        XCTAssertEqual(t["b"]?.values, [1])
        XCTAssertEqual(t["f"]?.values, [Float(bitPattern: 0x4049_0FDB)])
        XCTAssertEqual(t["i"]?.values, [7])
    }

    func testWriteThenReadRoundTrips() throws {
        let url = dir.appendingPathComponent("rt.safetensors")
        let a = TensorData(shape: [2, 3], values: [1, 2, 3, 4, 5, -6]), e = TensorData(shape: [0], values: [])
        try SafeTensors.write([("a", a), ("empty", e)], to: url, metadata: ["format": "pt"])
        let r = try SafeTensors.readWithMetadata(url)
        XCTAssertEqual(r.tensors["a"], a)
        XCTAssertEqual(r.tensors["empty"], e)
        XCTAssertEqual(r.metadata["format"], "pt")
    }

    func testTruncatedSafeTensors() throws {
        let url = dir.appendingPathComponent("full.safetensors")
        try SafeTensors.write([("w", TensorData(shape: [4], values: [1, 2, 3, 4]))], to: url)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 3).write(to: url)
        assertError(try SafeTensors.read(url), contains: [url.path, "'w'", "data_offsets", "truncated"])
        try bytes.prefix(5).write(to: url)
        assertError(try SafeTensors.read(url), contains: [url.path, "truncated"])
        try bytes.prefix(20).write(to: url)
        assertError(try SafeTensors.read(url), contains: [url.path, "header length"])
    }

    func testHeaderOffsetsThatLie() throws {
        let beyond = try file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8000]}}"#, data: [UInt8](repeating: 0, count: 8))
        assertError(try SafeTensors.read(beyond), contains: [beyond.path, "'w'", "data_offsets", "8000"])
        let wrongSize = try file(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8), name: "b.safetensors")
        assertError(try SafeTensors.read(wrongSize), contains: ["'w'", "data_offsets", "needs 12"])
        let reversed = try file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: [UInt8](repeating: 0, count: 8), name: "c.safetensors")
        assertError(try SafeTensors.read(reversed), contains: ["'w'", "data_offsets"])
        let dtype = try file(header: #"{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8), name: "d.safetensors")
        assertError(try SafeTensors.read(dtype), contains: ["'w'", "dtype", "C64"])
        let huge = try file(header: #"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8), name: "f.safetensors")
        assertError(try SafeTensors.read(huge), contains: ["'w'", "shape"])
        let notJSON = try file(header: "{oops", data: [], name: "e.safetensors")
        assertError(try SafeTensors.read(notJSON), contains: [notJSON.path, "JSON"])
    }

    func testConfigMissingField() throws {
        let url = dir.appendingPathComponent("config.json")
        try Data(#"{"num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 8, "vocab_size": 10}"#.utf8).write(to: url)
        assertError(try EncoderConfig(contentsOf: url), contains: [url.path, "hidden_size", "missing"])
        try Data(#"{"hidden_size": "big", "num_hidden_layers": 2}"#.utf8).write(to: url)
        assertError(try EncoderConfig(contentsOf: url), contains: [url.path, "hidden_size"])
        try Data(#"{"hidden_size": 6, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 8, "vocab_size": 10, "max_position_embeddings": 8}"#.utf8).write(to: url)
        assertError(try EncoderConfig(contentsOf: url), contains: [url.path, "num_attention_heads"])
        // BERT (no alibi) needs max_position_embeddings.
        try Data(#"{"hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8, "vocab_size": 10}"#.utf8).write(to: url)
        assertError(try EncoderConfig(contentsOf: url), contains: [url.path, "max_position_embeddings", "missing"])
    }

    func testTokenIdsBeyondVocabulary() throws {
        let enc = SentenceEncoder(config: EncoderConfig(mosaic: true, hidden: 4, layers: 1, heads: 2, intermediate: 4, vocabSize: 10), randomSeed: 1)
        assertError(try enc.embed([[1, 2], [1, 10, 2]]), contains: ["row 1", "position 1", "10", "vocabulary"])
        assertError(try enc.embed([[1, -3]]), contains: ["row 0", "-3"])
        assertError(try enc.embed([[]]), contains: ["row 0", "empty"])
        let bert = SentenceEncoder(config: EncoderConfig(mosaic: false, hidden: 4, layers: 1, heads: 2, intermediate: 4, vocabSize: 10,
                                                         maxPositionEmbeddings: 3), randomSeed: 1)
        assertError(try bert.embed([[1, 2, 3, 4]]), contains: ["row 0", "max_position_embeddings"])
        let trainer = EncoderTrainer(encoder: enc)
        assertError(try trainer.computeGradients(columns: [[[1, 2]], [[1, 11]]]), contains: ["row 1", "11"])
        assertError(try trainer.computeGradients(columns: [[[1, 2]]]), contains: ["column"])
        assertError(try trainer.computeGradients(columns: [[[1, 2]], [[1], [2]]]), contains: ["column 1", "rows"])
    }

    func testMissingAndMisshapedWeights() throws {
        let cfg = EncoderConfig(mosaic: true, hidden: 4, layers: 1, heads: 2, intermediate: 4, vocabSize: 10)
        var w = Dictionary(uniqueKeysWithValues: SentenceEncoder(config: cfg, randomSeed: 1).namedWeights())
        w["bert.encoder.layer.0.mlp.wo.weight"] = TensorData(shape: [4, 8], values: [Float](repeating: 0, count: 32))
        assertError(try SentenceEncoder(config: cfg, weights: w), contains: ["bert.encoder.layer.0.mlp.wo.weight", "[4, 8]", "[4, 4]"])
        w["bert.encoder.layer.0.mlp.wo.weight"] = nil
        assertError(try SentenceEncoder(config: cfg, weights: w), contains: ["missing", "mlp.wo.weight"])
        // Names without the bert. prefix load too.
        let bare = Dictionary(uniqueKeysWithValues: SentenceEncoder(config: cfg, randomSeed: 2).namedWeights().map { (String($0.0.dropFirst(5)), $0.1) })
        XCTAssertNoThrow(try SentenceEncoder(config: cfg, weights: bare))
    }
}
