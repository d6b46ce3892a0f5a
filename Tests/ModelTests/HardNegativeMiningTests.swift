// The rules of mining without a model, on hand-made scores: how pairs become the corpus and anchors, how
// range_max is derived, and which candidates the filters and the window keep.
import XCTest
@testable import LodestoneCore

final class HardNegativeMiningTests: XCTestCase {
    func testPlanDeduplicatesAsSentenceTransformers() {
        let pairs = [("a", "p1"), ("b", "p2"), ("a", "p3"), ("a", "p1"), ("p2", "p4")]
        let plan = HardNegativeMining.Plan(pairs: pairs, corpus: ["x", "p3", "y"], settings: .init())
        XCTAssertEqual(plan.corpus, ["x", "p3", "y", "p1", "p2", "p4"], "extra corpus first, then new positives")
        XCTAssertEqual(plan.anchors, ["a", "b", "p2"])
        XCTAssertEqual(plan.positives, [[3, 1], [4], [5]], "distinct positives in order of appearance")
        XCTAssertEqual(plan.anchorInCorpus, [nil, nil, 4], "an anchor that is a corpus text is never its own negative")
        XCTAssertEqual(plan.maxPositives, 3, "rows per anchor, the repeated row included (pandas' groupby count)")
        XCTAssertEqual(plan.rowCount, 4)
        XCTAssertEqual(plan.rangeMax, 0 + 3 + 3)
        XCTAssertEqual(plan.candidateCount, 6 + 3 + 1)
    }

    func testRangeMaxGrowsTenfoldWhenFiltersRemoveCandidates() {
        var s = HardNegativeMining.Settings()
        s.rangeMin = 2; s.numNegatives = 4
        for set in [{ (s: inout HardNegativeMining.Settings) in s.absoluteMargin = 0 }, { $0.relativeMargin = 0.05 }, { $0.maxScore = 0.9 }] {
            var t = s; set(&t)
            XCTAssertEqual(HardNegativeMining.Plan(pairs: [("a", "b")], settings: t).rangeMax, 2 + 40 + 1)
        }
        s.minScore = 0.1   // min_score alone does not (sentence-transformers: only with a cross-encoder)
        XCTAssertEqual(HardNegativeMining.Plan(pairs: [("a", "b")], settings: s).rangeMax, 2 + 4 + 1)
        s.rangeMax = 9
        XCTAssertEqual(HardNegativeMining.Plan(pairs: [("a", "b")], settings: s).rangeMax, 9)
    }

    func choose(_ s: HardNegativeMining.Settings, rangeMax: Int, positive: Float = 0.8,
                skipped: inout HardNegativeMining.Skipped) -> [Int]? {
        // Candidates best first: 0 and 5 are excluded (the anchor's own text, its positive).
        let hits: [(index: Int, score: Float)] = [(0, 0.99), (1, 0.9), (5, 0.85), (2, 0.75), (3, 0.7), (4, 0.5), (6, 0.2)]
        var g = SplitMix64(seed: 1)
        return HardNegativeMining.choose(hits: hits, excluded: [0, 5], positiveScore: positive, settings: s,
                                         rangeMax: rangeMax, skipped: &skipped, generator: &g)?.map(\.index)
    }

    func testFiltersThenWindowThenTop() {
        var s = HardNegativeMining.Settings(), skipped = HardNegativeMining.Skipped()
        s.numNegatives = 2
        XCTAssertEqual(choose(s, rangeMax: 5, skipped: &skipped), [1, 2])
        s.rangeMin = 1
        XCTAssertEqual(choose(s, rangeMax: 5, skipped: &skipped), [2, 3], "ranks count among the candidates left")
        XCTAssertNil(choose(s, rangeMax: 2, skipped: &skipped), "only ranks 1..<2 remain: too few")
        s.rangeMin = 0
        s.absoluteMargin = 0.08   // keeps score + 0.08 <= 0.8
        XCTAssertEqual(choose(s, rangeMax: 5, skipped: &skipped), [3, 4])
        XCTAssertEqual(skipped.absoluteMargin, 2)
        s.absoluteMargin = nil; s.relativeMargin = 0.1   // keeps score <= 0.72
        XCTAssertEqual(choose(s, rangeMax: 5, skipped: &skipped), [3, 4])
        s.relativeMargin = nil; s.maxScore = 0.72; s.minScore = 0.6
        XCTAssertNil(choose(s, rangeMax: 5, skipped: &skipped), "only 3 lies in [0.6, 0.72]")
        XCTAssertEqual(skipped.maxScore, 2)
        XCTAssertEqual(skipped.minScore, 2)
        s.maxScore = nil; s.minScore = nil; s.relativeMargin = 0.1   // a negative positive score: 0.2 <= -0.5 - 0.05 fails
        XCTAssertNil(choose(s, rangeMax: 5, positive: -0.5, skipped: &skipped))
    }

    func testRandomDrawsFromTheWindowBestFirst() {
        var s = HardNegativeMining.Settings(), skipped = HardNegativeMining.Skipped()
        s.numNegatives = 2; s.rangeMin = 1; s.sampling = .random(seed: 3)
        var seen = Set<[Int]>()
        for seed in 0..<40 as Range<UInt64> {
            var g = SplitMix64(seed: seed)
            let hits: [(index: Int, score: Float)] = (0..<8).map { ($0, 1 - Float($0) / 10) }
            let picked = HardNegativeMining.choose(hits: hits, excluded: [], positiveScore: 1, settings: s, rangeMax: 5,
                                                   skipped: &skipped, generator: &g)!.map(\.index)
            XCTAssertEqual(picked, picked.sorted(), "best first")
            XCTAssertTrue(picked.allSatisfy { (1..<5).contains($0) }, "inside the window: \(picked)")
            XCTAssertEqual(Set(picked).count, 2)
            seen.insert(picked)
        }
        XCTAssertEqual(seen.count, 6, "every pair of the 4 window ranks is drawn")
    }
}
