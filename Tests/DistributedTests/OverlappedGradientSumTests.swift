import Foundation
import XCTest

/// lodestone-mpi-check's `overlap` on 2 ranks: the gradients summed by buckets overlapped with backward against
/// the blocking all-reduce (with 2 ranks each element is a + b either way: the same bits), against the other
/// rank, and against the same step in one process (float32 sums in another order: rounding only).
final class OverlappedGradientSumTests: XCTestCase {
    struct Summary: Decodable { var buckets: [String: Int]; var loss: [String: Float]; var gradNorm: [String: Float] }

    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory("mpi-overlap") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// Gradients then parameters after one AdamW step, as the check wrote them (the parameters are compared only
    /// between the MPI ways: AdamW's first step moves a near-zero gradient by ±lr whatever its rounding).
    func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: dir.appendingPathComponent(name + ".f32"))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testOverlappedSumEqualsBlockingSumAndOneProcessOnTwoRanks() throws {
        let layers = 3
        let job = try runRanks(2, ["overlap", "--out", dir.path, "--layers", "\(layers)"], in: dir)
        XCTAssertEqual(job.status, 0, job.output)
        for rank in 0..<2 {
            let summary = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: dir.appendingPathComponent("rank-\(rank).json")))
            for name in ["mosaic", "bert", "mosaic-cached"] {
                // One bucket per layer, then the embeddings'.
                XCTAssertEqual(summary.buckets[name], layers + 1, name)
                let blocking = try floats("\(name)-rank\(rank)-blocking"), overlapped = try floats("\(name)-rank\(rank)-overlapped")
                let other = try floats("\(name)-rank\(1 - rank)-overlapped"), single = try floats("\(name)-single")
                XCTAssertEqual(blocking.count, single.count)
                XCTAssertTrue(overlapped == blocking, "\(name) rank \(rank): overlapped differs from blocking by \(worst(overlapped, blocking))")
                XCTAssertTrue(overlapped == other, "\(name): ranks differ by \(worst(overlapped, other))")
                XCTAssertEqual(summary.gradNorm["\(name)-rank\(rank)-overlapped"], summary.gradNorm["\(name)-rank\(rank)-blocking"], name)
                let n = single.count / 2
                let gradientScale = single[..<n].map { abs($0) }.max() ?? 0
                XCTAssertGreaterThan(gradientScale, 0, "\(name): the step has gradients")
                XCTAssertLessThanOrEqual(worst(Array(overlapped[..<n]), Array(single[..<n])), 1e-5 * gradientScale, name)
                let loss = try XCTUnwrap(summary.loss["\(name)-single"])
                XCTAssertEqual(try XCTUnwrap(summary.loss["\(name)-rank\(rank)-overlapped"]), loss, accuracy: 1e-5 * abs(loss), name)
            }
        }
    }

    /// Under `.measured` the slices follow the timings the ranks share after each step: they must still agree on
    /// them (identical parameters after three steps) and train what one process trains: the same losses, to
    /// rounding, on steps whose parameters each step moved (lr 1e-3).
    func testSlicesByMeasuredSpeedKeepTheRanksTogether() throws {
        let job = try runRanks(2, ["overlap", "--out", dir.path, "--layers", "2"], in: dir)
        XCTAssertEqual(job.status, 0, job.output)
        let rank0 = try floats("measured-rank0"), rank1 = try floats("measured-rank1"), single = try floats("measured-single")
        XCTAssertTrue(rank0 == rank1, "the ranks' parameters differ by \(worst(rank0, rank1))")
        XCTAssertEqual(rank0.count, single.count)
        let summary = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: dir.appendingPathComponent("rank-0.json")))
        for step in 0..<3 {
            let one = try XCTUnwrap(summary.loss["measured-single-step\(step)"]), two = try XCTUnwrap(summary.loss["measured-rank0-step\(step)"])
            XCTAssertEqual(two, one, accuracy: 1e-4 * abs(one), "step \(step)")
        }
    }

    func worst(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
