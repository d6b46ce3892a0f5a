// Texts past any trained length: MosaicBERT embeds them whole (ALiBi extrapolates; the tiled attention keeps
// memory linear), classic BERT refuses a text past its position table with one line naming the file and text.
import Foundation
import XCTest
@testable import LodestoneCore

final class LongTextTests: XCTestCase {
    /// About `words` common words (vocabulary entries, so one token each), varied so no two windows repeat.
    func longText(words: Int) -> String {
        let pool = ["in", "to", "was", "he", "is", "as", "the", "river", "light", "stone", "north", "city", "song", "wind"]
        var state: UInt64 = 12345
        return (0..<words).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return pool[Int(state >> 33) % pool.count]
        }.joined(separator: " ")
    }

    /// A one-layer, one-head MosaicBERT over the mosaic-tiny vocabulary (random weights): the smallest model whose
    /// attention still runs over all 5,000 tokens (the debug build's element-wise passes cost ~1 µs per score).
    func smallMosaic(maxSeqLength: Int) throws -> SentenceModel {
        let config = EncoderConfig(mosaic: true, hidden: 8, layers: 1, heads: 1, intermediate: 8, vocabSize: 30522)
        return SentenceModel(config: config, encoder: SentenceEncoder(config: config, randomSeed: 9),
                             tokenizer: try WordPieceTokenizer(directory: mosaicTiny), maxSeqLength: maxSeqLength)
    }

    func testMosaicEmbedsA5000TokenTextWhole() throws {
        let model = try smallMosaic(maxSeqLength: 8192)
        let long = longText(words: 4998)
        let ids = model.tokenize([long])[0]
        XCTAssertEqual(ids.count, 5000, "[CLS] + 4998 one-token words + [SEP], none truncated")
        let alone = try model.embed([long], batchSize: 1)[0]
        XCTAssertTrue(alone.allSatisfy(\.isFinite))
        XCTAssertEqual(Double(alone.reduce(0) { $0 + $1 * $1 }), 1, accuracy: 1e-4, "normalized")
        // The same text among others, in one batch (each sequence is attended separately, tile by tile).
        let batch = try model.embed(["a short text", long, longText(words: 300)], batchSize: 3)
        for (a, b) in zip(alone, batch[1]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertGreaterThan(zip(batch[0], batch[1]).map { abs($0 - $1) }.max()!, 1e-3, "different texts differ")
    }

    func testMosaicCLIEmbedsPastMaxSeqLengthWhenAsked() throws {
        // mosaic-tiny's max_seq_length is 512: --max-seq-length lifts it (the whole 5,000-token path is above).
        let root = try temporaryDirectory("long"); defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("long.txt"), output = root.appendingPathComponent("out.npy")
        try Data((longText(words: 598) + "\nshort\n").utf8).write(to: input)
        let r = try runStep("05-embed", ["--model", mosaicTiny.path, "--input", input.path, "--output", output.path,
                                         "--max-seq-length", "1000", "--threads", "2"], testCase: Self.self)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("603 tokens"), r.output) // 600 + [CLS] short [SEP]
    }

    /// bert-tiny (64 positions) as a model directory.
    func bertTiny(in root: URL) throws -> URL {
        let dir = root.appendingPathComponent("bert-tiny"), source = mosaicTiny.deletingLastPathComponent().appendingPathComponent("bert-tiny")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors", "vocab.txt"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        return dir
    }

    func testBertRefusesATextPastItsPositionsWithOneLine() throws {
        let root = try temporaryDirectory("long"); defer { try? FileManager.default.removeItem(at: root) }
        let model = try bertTiny(in: root)
        let input = root.appendingPathComponent("texts.txt"), output = root.appendingPathComponent("out.npy")
        try Data(("a short text\n" + longText(words: 100) + "\n").utf8).write(to: input)
        let r = try runStep("05-embed", ["--model", model.path, "--input", input.path, "--output", output.path,
                                         "--max-seq-length", "200", "--threads", "1"], testCase: Self.self)
        XCTAssertNotEqual(r.status, 0, r.output)
        let errorLines = r.output.split(separator: "\n").filter { $0.contains("max_position_embeddings") }
        XCTAssertEqual(errorLines.count, 1, r.output)
        for word in [input.path, "text 2", "102 tokens", "max_position_embeddings 64"] {
            XCTAssertTrue(errorLines.first?.contains(word) == true, "expected '\(word)' in: \(r.output)")
        }
        XCTAssertFalse(r.output.contains("Fatal error") || r.output.contains("Error Domain"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
        // By default the model's max_seq_length (its 64 positions) truncates, as sentence-transformers does.
        let ok = try runStep("05-embed", ["--model", model.path, "--input", input.path, "--output", output.path,
                                          "--threads", "1"], testCase: Self.self)
        XCTAssertEqual(ok.status, 0, ok.output)
    }
}
