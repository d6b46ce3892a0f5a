// Token and sentence embeddings of every model case (the repo's and an external root's), from
// model.safetensors, against PyTorch (1e-4).
import Foundation
import XCTest
@testable import LodestoneCore

final class EncoderConformanceTests: XCTestCase {
    func testEmbeddingsMatchPyTorchForEveryCase() throws {
        let cases = try ModelCase.all()
        XCTAssertFalse(cases.isEmpty, "no model cases")
        for dir in cases {
            let c = try ModelCase(directory: dir)
            let encoder = try c.loadEncoder()
            let H = c.config.hidden
            for (k, column) in c.columns.enumerated() {
                let tokens = try c.expect("column\(k).token_embeddings")
                let padded = tokens.shape[1]
                let actualTokens = try encoder.tokenEmbeddings(column)
                var flat: [Float] = []
                for row in actualTokens {
                    flat += row
                    flat += [Float](repeating: 0, count: padded * H - row.count) // padding positions are 0
                }
                assertClose(flat, tokens.values, abs: 1e-4, "\(c.name) column\(k).token_embeddings")
                let sentences = try c.expect("column\(k).sentence_embeddings")
                assertClose(try encoder.embed(column).flatMap { $0 }, sentences.values, abs: 1e-4,
                            "\(c.name) column\(k).sentence_embeddings")
            }
        }
    }
}
