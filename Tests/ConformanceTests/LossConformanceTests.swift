// Every EmbeddingLoss against sentence-transformers' own classes (MultipleNegativesRankingLoss, its symmetric
// form, MatryoshkaLoss around it, GISTEmbedLoss with a guide's embeddings) on fixed unit embeddings (Tests/Fixtures/reference/losses/losses.json, written
// by Scripts/reference/make_loss_fixtures.py): the loss to 1e-5 relative, the gradient to 1e-5 absolute (GIST's, at 5× the scale, 5e-5).
import Foundation
import XCTest
@testable import LodestoneCore

final class LossConformanceTests: XCTestCase {
    struct Case {
        let name: String
        let loss: any EmbeddingLoss
        let batch: LossBatch
        let embeddings: [Float], gradient: [Float], value: Float
        var guide: [Float]? = nil, guideDim = 0
    }

    static func cases() throws -> [Case] {
        let url = FixtureRoots.repo.appendingPathComponent("losses/losses.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        let list = try XCTUnwrap(root?["cases"] as? [[String: Any]], "\(url.path): no cases")
        func floats(_ v: Any?) -> [Float] { (v as? [NSNumber] ?? []).map(\.floatValue) }
        return try list.map { c in
            let spec = try XCTUnwrap(c["loss"] as? [String: Any])
            let mnrl = MultipleNegativesRankingLoss(scale: (spec["scale"] as? NSNumber)?.floatValue ?? 0,
                                                    symmetric: spec["symmetric"] as? Bool ?? false)
            var loss: any EmbeddingLoss = mnrl
            if let dims = spec["dims"] as? [Int] {
                loss = MatryoshkaLoss(inner: mnrl, dims: dims, weights: spec["weights"].map(floats))
            }
            if let g = spec["gist"] as? [String: Any] {
                loss = GISTEmbedLoss(temperature: try XCTUnwrap((g["temperature"] as? NSNumber)?.floatValue),
                                     marginStrategy: try XCTUnwrap((g["margin_strategy"] as? String).flatMap(GISTEmbedLoss.MarginStrategy.init)),
                                     margin: try XCTUnwrap((g["margin"] as? NSNumber)?.floatValue),
                                     contrastAnchors: try XCTUnwrap(g["contrast_anchors"] as? Bool),
                                     contrastPositives: try XCTUnwrap(g["contrast_positives"] as? Bool))
            }
            let b = LossBatch(anchors: try XCTUnwrap(c["anchors"] as? Int), columns: try XCTUnwrap(c["columns"] as? Int),
                              dim: try XCTUnwrap(c["dim"] as? Int))
            var out = Case(name: c["name"] as? String ?? "?", loss: loss, batch: b, embeddings: floats(c["embeddings"]),
                           gradient: floats(c["gradient"]), value: (c["value"] as? NSNumber)?.floatValue ?? .nan)
            if c["guide"] != nil { out.guide = floats(c["guide"]); out.guideDim = try XCTUnwrap(c["guide_dim"] as? Int) }
            return out
        }
    }

    /// The gradient with respect to unit rows minus its component along each row: what the pooling's Normalize
    /// passes back (its Jacobian at a unit vector is I − e eᵀ), so only this part reaches the model. PyTorch's
    /// gradient has no such component either, since cos_sim normalizes inside the loss.
    func tangential(_ g: [Float], _ e: [Float], dim: Int) -> [Float] {
        var out = g
        for r in 0..<(g.count / dim) {
            let row = r * dim..<(r + 1) * dim
            let dot = row.reduce(Float(0)) { $0 + g[$1] * e[$1] }
            for i in row { out[i] -= dot * e[i] }
        }
        return out
    }

    func testEveryLossMatchesSentenceTransformers() throws {
        let cases = try Self.cases()
        XCTAssertEqual(cases.count, 20)
        XCTAssertEqual(cases.filter { $0.loss is GISTEmbedLoss }.count, 8)
        var worstLoss: Float = 0, worstGradient: Float = 0
        for c in cases {
            XCTAssertEqual(c.embeddings.count, c.batch.rows * c.batch.dim, c.name)
            XCTAssertEqual(c.loss.needsGuide, c.guide != nil, c.name)
            let (loss, gradient) = c.loss.lossAndGradient(embeddings: c.embeddings, batch: c.batch, guide: c.guide, guideDim: c.guideDim)
            XCTAssertEqual(loss, c.value, accuracy: 1e-5 * max(1, abs(c.value)), "\(c.name): loss")
            let projected = tangential(gradient, c.embeddings, dim: c.batch.dim)
            // GIST's temperature 0.01 scales cosines by 100 (MNRL's scale is 20), and their float32 rounding with them.
            assertClose(projected, c.gradient, abs: c.loss is GISTEmbedLoss ? 5e-5 : 1e-5, "\(c.name): gradient")
            worstLoss = max(worstLoss, abs(loss - c.value) / max(1, abs(c.value)))
            worstGradient = max(worstGradient, zip(projected, c.gradient).map { abs($0 - $1) }.max() ?? 0)
            // The fixture's gradient is not zero: a loss returning nothing could not pass.
            XCTAssertGreaterThan(c.gradient.map(abs).max() ?? 0, 1e-3, c.name)
        }
        print("loss conformance: worst loss difference \(worstLoss) (relative), worst gradient difference \(worstGradient)")
    }

    /// sentence-transformers sorts the widths largest first and sums in that order: the same loss in any order.
    func testMatryoshkaSortsWidthsWithTheirWeights() {
        let m = MatryoshkaLoss(inner: MultipleNegativesRankingLoss(), dims: [4, 16, 8], weights: [0.3, 1, 2])
        XCTAssertEqual(m.dims, [16, 8, 4])
        XCTAssertEqual(m.weights, [1, 2, 0.3])
        XCTAssertEqual(m.problem(dimension: 8), "dimension 16 is larger than the model's embedding dimension 8")
        XCTAssertNil(m.problem(dimension: 16))
    }
}
