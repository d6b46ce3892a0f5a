// MatryoshkaLoss inside a training step: cached (mini-batch passes) and over ranks it gives the one-pass step's
// loss and gradients with no code of its own; the memory plan counts its scratch; the model directory records
// its widths; and 05-embed's truncation is the normalized prefix of the full embedding.
import Foundation
import XCTest
@testable import LodestoneCore

final class MatryoshkaTrainingTests: XCTestCase {
    let columns: [[[Int32]]] = [
        [[1, 5, 9, 2], [1, 7, 2], [1, 4, 4, 6, 8, 9, 2]],
        [[1, 3, 3, 8, 2], [1, 6, 2], [1, 10, 2]],
        [[1, 4, 2], [1, 9, 9, 9, 5, 2], [1, 11, 3, 2]],
    ]
    let matryoshka = MatryoshkaLoss(inner: MultipleNegativesRankingLoss(scale: 20, symmetric: true), dims: [6, 4, 2],
                                    weights: [1, 0.5, 2])

    func trainer(_ loss: any EmbeddingLoss, textsPerPass: Int?, dropout: DropoutRates = DropoutRates(hidden: 0.2, attention: 0.25)) -> EncoderTrainer {
        let config = EncoderConfig(mosaic: true, hidden: 6, layers: 2, heads: 3, intermediate: 5, vocabSize: 12,
                                   maxPositionEmbeddings: 8, alibiStartingSize: 2, initializerRange: 0.5)
        let t = EncoderTrainer(encoder: SentenceEncoder(config: config, randomSeed: 11), loss: loss, dropout: dropout)
        t.batching = MiniBatching(maxTexts: textsPerPass)
        return t
    }

    func gradients(_ t: EncoderTrainer) -> [Float] { Array(UnsafeBufferPointer(start: t.gradients, count: t.parameterCount)) }

    func worstDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    func testCachedMatryoshkaGivesTheOnePassLossAndGradients() throws {
        let one = trainer(matryoshka, textsPerPass: nil)
        let reference = try one.computeGradients(columns: columns, dropoutSeed: 9)
        let expected = gradients(one)
        let scale = expected.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 0)
        for size in [1, 2, 4] {
            let t = trainer(matryoshka, textsPerPass: size)
            let r = try t.computeGradients(columns: columns, dropoutSeed: 9)
            XCTAssertEqual(t.lastStepPasses.training, (9 + size - 1) / size, "the step was split")
            XCTAssertEqual(r.loss, reference.loss, accuracy: 1e-5 * max(1, abs(reference.loss)), "\(size) per pass")
            XCTAssertLessThan(worstDifference(gradients(t), expected), 1e-5 * scale, "\(size) text(s) per pass")
        }
    }

    func testRanksSharingAMatryoshkaStepEndWithTheSingleProcessGradients() throws {
        let single = trainer(matryoshka, textsPerPass: nil)
        let reference = try single.computeGradients(columns: columns, dropoutSeed: 3)
        let byRank = try stepOnRanks(2, columns: columns, dropoutSeed: 3) { rank in self.trainer(self.matryoshka, textsPerPass: rank == 0 ? 1 : nil) }
        let scale = gradients(single).map(abs).max() ?? 0
        for (rank, (r, g)) in byRank.enumerated() {
            XCTAssertEqual(r.loss, reference.loss, accuracy: 1e-5 * max(1, abs(reference.loss)), "rank \(rank)")
            XCTAssertLessThan(worstDifference(g, gradients(single)), 1e-5 * scale, "rank \(rank)")
        }
    }

    /// One width, the full one, weight w: the inner loss times w (re-normalizing a unit vector changes nothing).
    func testOneFullWidthIsTheInnerLossWeighted() throws {
        let mnrl = MultipleNegativesRankingLoss(scale: 20, symmetric: false)
        let plain = trainer(mnrl, textsPerPass: nil, dropout: .none)
        let p = try plain.computeGradients(columns: columns)
        let doubled = trainer(MatryoshkaLoss(inner: mnrl, dims: [6], weights: [2]), textsPerPass: nil, dropout: .none)
        let d = try doubled.computeGradients(columns: columns)
        XCTAssertEqual(d.loss, 2 * p.loss, accuracy: 1e-5 * max(1, p.loss))
        let expected = gradients(plain).map { 2 * $0 }
        XCTAssertLessThan(worstDifference(gradients(doubled), expected), 1e-5 * (expected.map(abs).max() ?? 0))
    }

    /// The step's buffers: embeddings and their gradients (2 · rows · hidden), Matryoshka's truncated copies and
    /// their gradients (2 · rows · widest), MNRL's scores and their gradient (2 · B · B·(columns − 1)); in bytes.
    func testMemoryPlanCountsTheLossScratch() {
        let c = EncoderConfig(mosaic: true, hidden: 64, layers: 2, heads: 4, intermediate: 128, vocabSize: 100,
                              maxPositionEmbeddings: 512, alibiStartingSize: 512, initializerRange: 0.02)
        func plan(_ loss: any EmbeddingLoss) -> MemoryPlan {
            MemoryPlan(config: c, parameterCount: 1000, batching: MiniBatching(), longest: 10, rows: 30, tokens: 300,
                       anchors: 10, columns: 3, loss: loss, dropout: false)
        }
        XCTAssertEqual(plan(MultipleNegativesRankingLoss()).stepBytes, 4 * (2 * 30 * 64 + 2 * 10 * 20))
        XCTAssertEqual(plan(MatryoshkaLoss(inner: MultipleNegativesRankingLoss(), dims: [32, 16])).stepBytes,
                       4 * (2 * 30 * 64 + 2 * 30 * 32 + 2 * 10 * 20))
    }

    func testModelDirectoryRecordsTheMatryoshkaDims() throws {
        let out = try temporaryDirectory("matryoshka-model")
        defer { try? FileManager.default.removeItem(at: out) }
        let t = try EncoderTrainer(directory: try SentenceTransformerDirectory.read(mosaicTiny),
                                   loss: MatryoshkaLoss(inner: MultipleNegativesRankingLoss(), dims: [8, 16, 4]))
        let model = out.appendingPathComponent("model")
        try t.saveModelDirectory(to: model)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("config_sentence_transformers.json"))) as? [String: Any]
        XCTAssertEqual(json?["matryoshka_dims"] as? [Int], [16, 8, 4])
        XCTAssertEqual(try SentenceTransformerDirectory.read(model).matryoshkaDims, [16, 8, 4])
        XCTAssertEqual(try SentenceModel.load(model).matryoshkaDims, [16, 8, 4])
        XCTAssertNil(try SentenceTransformerDirectory.read(mosaicTiny).matryoshkaDims, "an MNRL model records none")
    }

    /// The expected rows are normalized here, from the full embeddings, not by the code under test.
    func testTruncatedEmbeddingsAreTheNormalizedPrefix() throws {
        let model = try SentenceModel.load(mosaicTiny)
        let texts = ["a first text", "and a second, longer text than the first one", "third"]
        let full = try model.embed(texts)
        try model.truncate(to: 5)
        XCTAssertEqual(model.dimension, 5)
        let short = try model.embed(texts)
        for (s, f) in zip(short, full) {
            let head = Array(f[0..<5])
            let norm = head.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            XCTAssertEqual(s.count, 5)
            for (x, y) in zip(s, head) { XCTAssertEqual(Double(x), Double(y) / norm, accuracy: 1e-6) }
        }
        XCTAssertThrowsError(try model.truncate(to: model.fullDimension + 1))
    }

    func testTruncateDimFlag() throws {
        let root = try temporaryDirectory("truncate-dim")
        defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("texts.txt")
        try Data("first text\nsecond text here\n".utf8).write(to: input)
        func encode(_ extra: [String], _ name: String) throws -> (StepResult, [[Double]]) {
            let out = root.appendingPathComponent(name)
            let r = try runStep("05-embed", ["--model", mosaicTiny.path, "--input", input.path, "--output", out.path,
                                             "--threads", "1"] + extra, testCase: Self.self)
            let rows = r.status != 0 ? [] : try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map { line in
                ((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["embedding"] as? [NSNumber] ?? []).map(\.doubleValue)
            }
            return (r, rows)
        }
        let (fullRun, full) = try encode([], "full.jsonl")
        XCTAssertEqual(fullRun.status, 0, fullRun.output)
        let (shortRun, short) = try encode(["--truncate-dim", "4"], "short.jsonl")
        XCTAssertEqual(shortRun.status, 0, shortRun.output)
        XCTAssertEqual(short.count, 2)
        for (s, f) in zip(short, full) {
            let norm = f.prefix(4).map { $0 * $0 }.reduce(0, +).squareRoot()
            XCTAssertEqual(s.count, 4)
            for (x, y) in zip(s, f.prefix(4)) { XCTAssertEqual(x, y / norm, accuracy: 1e-6) }
        }
        let dimension = full.first?.count ?? 0
        for bad in ["0", "\(dimension + 1)"] {
            let (r, _) = try encode(["--truncate-dim", bad], "bad.jsonl")
            XCTAssertEqual(r.status, 64, r.output)
            XCTAssertTrue(r.output.contains("--truncate-dim must be"), r.output)
            XCTAssertTrue(r.output.contains("Usage:"), r.output)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("bad.jsonl").path))
    }
}
