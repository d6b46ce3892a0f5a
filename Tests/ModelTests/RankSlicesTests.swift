import XCTest
@testable import LodestoneCore

/// How a step's rows are divided among ranks: contiguous slices whose costs come nearest to the ranks' shares.
final class RankSlicesTests: XCTestCase {
    func testEqualWeightsCutNearestToEqualCost() {
        XCTAssertEqual(rankSlices(costs: [10, 10, 10, 10, 40, 10, 10], weights: [1, 1]), [0..<4, 4..<7])
        XCTAssertEqual(rankSlices(costs: [1, 1, 1, 1, 1, 1], weights: [1, 1, 1]), [0..<2, 2..<4, 4..<6])
        XCTAssertEqual(rankSlices(costs: [5, 5], weights: [1]), [0..<2])
    }

    func testFasterRankTakesMoreRows() {
        // Rank 1 measured three times as fast: it takes three quarters of 8 equal rows.
        XCTAssertEqual(rankSlices(costs: Array(repeating: 2, count: 8), weights: [1, 3]), [0..<2, 2..<8])
        XCTAssertEqual(rankSlices(costs: Array(repeating: 2, count: 8), weights: [3, 1]), [0..<6, 6..<8])
        // More ranks than rows: some slices are empty, all stay contiguous and cover the batch.
        let slices = rankSlices(costs: [4, 4], weights: [1, 1, 1, 1, 1])
        XCTAssertEqual(slices.first?.lowerBound, 0); XCTAssertEqual(slices.last?.upperBound, 2)
        for (a, b) in zip(slices, slices.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
    }

    func testLongRowsCostMoreThanTheirTokens() {
        // MosaicBERT-base: attention costs as much as the GEMMs at (4·768 + 3·3072)/2 = 6144 tokens.
        let base = RowCost(config: EncoderConfig(mosaic: true, hidden: 768, layers: 12, heads: 12, intermediate: 3072))
        XCTAssertEqual(base.attentionLength, 6144)
        XCTAssertEqual(base(6144), 12288)
        XCTAssertEqual(base(128), 128 + 128.0 * 128 / 6144, accuracy: 1e-9)
        // One 2048-token row and 16 of 256: by tokens rank 0 takes it and 4 short rows (3072 tokens each); its
        // attention (2048²/6144 ≈ 683 more) leaves room for 3 (2048 + 683 + 3 · 267 ≈ 3531 of 6997).
        let lengths = [2048] + Array(repeating: 256, count: 16)
        XCTAssertEqual(rankSlices(costs: lengths.map(Double.init), weights: [1, 1]), [0..<5, 5..<17])
        XCTAssertEqual(rankSlices(costs: lengths.map { base($0) }, weights: [1, 1]), [0..<4, 4..<17])
        let bert = RowCost(config: EncoderConfig(mosaic: false, hidden: 768, layers: 12, heads: 12, intermediate: 3072))
        XCTAssertEqual(bert.attentionLength, (4 * 768 + 2 * 3072) / 2)
    }
}
