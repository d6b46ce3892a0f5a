// The real sentence-transformers/all-MiniLM-L6-v2, read as a sentence-transformers directory (tokenizer,
// weights, max_seq_length): its embeddings of text/minilm_embeddings.json within 1e-4 of Python's.
import Foundation
import XCTest
import LodestoneModel

final class MiniLMConformanceTests: XCTestCase {
    struct Expected: Decodable { let max_seq_length: Int; let sentences: [String]; let embeddings: [[Float]] }

    /// $LODESTONE_MINILM, else whatever ../shared/scripts/fetch-minilm.sh prints (it downloads once, then caches).
    func modelDirectory() throws -> URL {
        if let dir = ProcessInfo.processInfo.environment["LODESTONE_MINILM"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        let script = ModelCase.fixturesRoot.deletingLastPathComponent().appendingPathComponent("scripts/fetch-minilm.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "fetch-minilm.sh failed")
        let path = String(decoding: output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        return URL(fileURLWithPath: path)
    }

    func testMiniLMEmbeddingsMatchSentenceTransformers() throws {
        let expected = try JSONDecoder().decode(Expected.self, from:
            Data(contentsOf: ModelCase.fixturesRoot.appendingPathComponent("text/minilm_embeddings.json")))
        XCTAssertFalse(expected.sentences.isEmpty)
        let model = try SentenceModel.load(try modelDirectory())
        XCTAssertEqual(model.maxSeqLength, expected.max_seq_length, "max_seq_length from sentence_bert_config.json")
        XCTAssertEqual(model.dimension, 384)
        let got = try model.embed(expected.sentences, batchSize: 16)
        XCTAssertEqual(got.count, expected.embeddings.count)
        for (i, (g, e)) in zip(got, expected.embeddings).enumerated() {
            XCTAssertEqual(g.count, e.count, "sentence \(i) dimension")
            let worst = zip(g, e).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(worst, 1e-4, "sentence \(i) \(expected.sentences[i].prefix(40).debugDescription): max |Δ| \(worst)")
        }
    }
}
