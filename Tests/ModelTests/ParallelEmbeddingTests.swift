// SentenceModel.embed runs length-sorted batches on several threads at once: every text must still get
// its own embedding (the one a lone forward pass gives it), in input order, and the thread settings
// must come back as they were.
import Foundation
import XCTest
import LodestoneCore

final class ParallelEmbeddingTests: XCTestCase {
    var fixtureVocab: URL { bertBaseUncasedVocab }

    func testBatchesOnThreadsMatchOneTextAtATimeInInputOrder() throws {
        for mosaic in [false, true] {
            let config = EncoderConfig(mosaic: mosaic, hidden: 16, layers: 2, heads: 2, intermediate: 32, vocabSize: 30528)
            let encoder = SentenceEncoder(config: config, randomSeed: 7)
            let model = SentenceModel(config: config, encoder: encoder, tokenizer: try WordPieceTokenizer(vocabFile: fixtureVocab),
                                      maxSeqLength: 128)
            // 23 texts of lengths 2…40 in no particular order, so batches of 4 mix lengths and finish out of order.
            let texts: [[Int32]] = (0..<23).map { i in
                let length = 2 + (i * 17) % 39
                return (0..<length).map { Int32(1000 + (i * 131 + $0 * 7) % 20000) }
            }
            let expected = try texts.map { try encoder.embed([$0])[0] }
            setBLASThreads(2)
            var progress: [Int] = []
            let got = try model.embed(tokenized: texts, batchSize: 4) { progress.append($0) }
            XCTAssertEqual(blasThreads(), 2)
            XCTAssertEqual(computeThreads, 2)
            XCTAssertEqual(progress.last, texts.count)
            XCTAssertEqual(progress, progress.sorted())
            XCTAssertEqual(got.count, texts.count)
            for (g, e) in zip(got, expected) {
                XCTAssertEqual(g.count, 16)
                for (a, b) in zip(g, e) { XCTAssertEqual(a, b, accuracy: 1e-5) }
            }
            // A bad id in a later batch is reported, not lost on a worker thread.
            var bad = texts
            bad[5][1] = 40000
            XCTAssertThrowsError(try model.embed(tokenized: bad, batchSize: 4)) { error in
                XCTAssertTrue("\(error)".contains("40000"), "\(error)")
            }
            XCTAssertEqual(blasThreads(), 2)
        }
    }
}
