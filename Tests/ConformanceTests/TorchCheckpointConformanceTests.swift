// Every model case: the tensors read from pytorch_model.bin (zip + pickle) equal model.safetensors
// exactly, the MosaicBERT MLM head (cls.*) is the only extra the .bin may carry, and an encoder built from
// the .bin weights reproduces the reference token and sentence embeddings (1e-4).
import Foundation
import XCTest
import LodestoneModel
import LodestoneText

final class TorchCheckpointConformanceTests: XCTestCase {
    func testTorchWeightsEqualSafetensorsInEveryModelCase() throws {
        let cases = try ModelCase.all()
        XCTAssertFalse(cases.isEmpty, "no model cases")
        for dir in cases {
            let name = FixtureRoots.label(dir)
            let fromBin = try TorchCheckpoint.read(dir.appendingPathComponent("pytorch_model.bin"))
            let fromSafetensors = try SafeTensors.read(dir.appendingPathComponent("model.safetensors"))
            XCTAssertFalse(fromSafetensors.isEmpty, "\(name): empty model.safetensors")
            for (tensorName, expected) in fromSafetensors {
                guard let got = fromBin[tensorName] else { XCTFail("\(name): \(tensorName) missing from pytorch_model.bin"); continue }
                XCTAssertEqual(got.shape, expected.shape, "\(name): \(tensorName) shape")
                XCTAssertTrue(got.values == expected.values, "\(name): \(tensorName) values differ")
            }
            for extra in Set(fromBin.keys).subtracting(fromSafetensors.keys) {
                XCTAssertTrue(extra.hasPrefix("cls."), "\(name): unexpected extra tensor \(extra) in pytorch_model.bin")
            }
        }
    }

    struct Case: Decodable { let columns: [[String]]; let max_seq_length: Int; let input_ids_each: [[Int32]] }

    func testEmbeddingsFromTorchWeightsMatchReferenceInEveryModelCase() throws {
        let cases = try ModelCase.all()
        XCTAssertFalse(cases.isEmpty)
        for dir in cases {
            let name = FixtureRoots.label(dir)
            let spec = try JSONDecoder().decode(Case.self, from: Data(contentsOf: dir.appendingPathComponent("case.json")))
            let config = try EncoderConfig(contentsOf: dir.appendingPathComponent("config.json"))
            let encoder = try SentenceEncoder(config: config, weights: TorchCheckpoint.read(dir.appendingPathComponent("pytorch_model.bin")))
            let tokenizer = try WordPieceTokenizer(directory: dir)
            let expected = try SafeTensors.read(dir.appendingPathComponent("expected.safetensors"))
            var flat = 0
            for (c, texts) in spec.columns.enumerated() {
                let ids = Array(spec.input_ids_each[flat..<flat + texts.count])
                flat += texts.count
                // The tokenizer must give the case's ids too.
                XCTAssertEqual(texts.map { tokenizer.encode($0, maxLength: spec.max_seq_length) }, ids, "\(name) column \(c) ids")
                let sentences = try XCTUnwrap(expected["column\(c).sentence_embeddings"], "\(name): column\(c).sentence_embeddings")
                let got = try encoder.embed(ids)
                XCTAssertLessThan(maxDifference(got.flatMap { $0 }, sentences.values), 1e-4, "\(name) column \(c) sentence embeddings")
                let tokens = try XCTUnwrap(expected["column\(c).token_embeddings"])
                let (rows, padded, hidden) = (tokens.shape[0], tokens.shape[1], tokens.shape[2])
                let gotTokens = try encoder.tokenEmbeddings(ids)
                XCTAssertEqual(rows, ids.count)
                var worst: Float = 0
                for r in 0..<rows {
                    let reference = Array(tokens.values[(r * padded * hidden)..<(r * padded * hidden + ids[r].count * hidden)])
                    worst = max(worst, maxDifference(gotTokens[r], reference))
                }
                XCTAssertLessThan(worst, 1e-4, "\(name) column \(c) token embeddings")
            }
        }
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
