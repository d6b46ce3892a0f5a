import Foundation
import XCTest

/// lodestone-mpi-check's `collectives` on 1 and 2 ranks: each rank's results against sums computed here from
/// the same input formulas (rank r's all-reduce input is (r+1)·(i mod 13) + r/4, and so on; see
/// Sources/lodestone-mpi-check/CollectivesCheck.swift); then a failing rank, three ways, must end the job.
final class DistributedCheckTests: XCTestCase {
    struct RankResults: Decodable {
        var rank: Int
        var size: Int
        var mpi: Bool
        var allReduce: [Float]
        var allGather: [Float]
        var broadcast: [UInt8]
        var asyncFirst: [Float]
        var asyncSecond: [Float]
        var badRootError: String?
    }

    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory("mpi-check") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func results(rank: Int) throws -> RankResults {
        try JSONDecoder().decode(RankResults.self, from: Data(contentsOf: dir.appendingPathComponent("rank-\(rank).json")))
    }

    /// What every rank of an n-rank job must hold after the collectives.
    func assertCollectives(_ got: RankResults, rank: Int, ranks n: Int) {
        XCTAssertEqual(got.rank, rank)
        XCTAssertEqual(got.size, n)
        let ranks = 0..<n
        // Σ_r (r+1)·(i mod 13) + r/4: small integers and quarters, so the float sum is exact.
        XCTAssertEqual(got.allReduce, (0..<1000).map { i in Float(ranks.reduce(0.0) { $0 + Double(($1 + 1) * (i % 13)) + 0.25 * Double($1) }) })
        // Rank q's 2 + 3q values 1000q + j, in rank order.
        XCTAssertEqual(got.allGather, ranks.flatMap { q in (0..<(2 + 3 * q)).map { Float(1000 * q + $0) } })
        // The last rank's bytes (7k + 3) mod 256.
        XCTAssertEqual(got.broadcast, (0..<300).map { UInt8((7 * $0 + 3) % 256) })
        XCTAssertEqual(got.asyncFirst, (0..<500).map { i in Float(ranks.reduce(0) { $0 + ($1 + 1) * i }) })
        XCTAssertEqual(got.asyncSecond, (0..<700).map { i in Float(ranks.reduce(0) { $0 + 2 * $1 - i }) })
    }

    func testPlainRunIsOneRankWithoutMPI() throws {
        let job = try runJob(try checkExecutable(), ["collectives", "--out", dir.path], in: dir)
        XCTAssertEqual(job.status, 0, job.output)
        let got = try results(rank: 0)
        XCTAssertFalse(got.mpi, "a plain run must not initialise MPI")
        assertCollectives(got, rank: 0, ranks: 1)
        XCTAssertNil(got.badRootError)
    }

    func testOneRankUnderMPIRun() throws {
        let job = try runRanks(1, ["collectives", "--out", dir.path], in: dir)
        XCTAssertEqual(job.status, 0, job.output)
        let got = try results(rank: 0)
        XCTAssertTrue(got.mpi)
        assertCollectives(got, rank: 0, ranks: 1)
    }

    func testCollectivesOnTwoRanks() throws {
        let job = try runRanks(2, ["collectives", "--out", dir.path], in: dir)
        XCTAssertEqual(job.status, 0, job.output)
        for rank in 0..<2 {
            let got = try results(rank: rank)
            XCTAssertTrue(got.mpi)
            assertCollectives(got, rank: rank, ranks: 2)
            // MPI's own error for a root that does not exist, returned to Swift and worded in one line.
            let error = try XCTUnwrap(got.badRootError)
            XCTAssertTrue(error.hasPrefix("MPI_Bcast failed on rank \(rank) of 2: "), error)
            XCTAssertTrue(error.localizedCaseInsensitiveContains("root"), error)
            XCTAssertFalse(error.contains("\n"), error)
        }
    }

    func testCollectivesOnThreeRanks() throws {
        // Three ranks: unequal all-gather counts on every rank, and a broadcast from a root that is neither 0 nor 1.
        let job = try runRanks(3, ["collectives", "--out", dir.path], in: dir)
        XCTAssertEqual(job.status, 0, job.output)
        for rank in 0..<3 { assertCollectives(try results(rank: rank), rank: rank, ranks: 3) }
    }

    /// Rank 1 fails after the collectives while rank 0 waits for it in a barrier: the job must end, non-zero,
    /// well before the 120 s limit (a hang fails the test there).
    func assertFailureEndsJob(_ mode: String, expectedStatus: Int32? = nil, extra: [String] = []) throws {
        let job = try runRanks(2, ["collectives", "--out", dir.path, "--fail-rank", "1", "--fail", mode] + extra, in: dir)
        XCTAssertNotEqual(job.status, 0, job.output)
        if let expectedStatus { XCTAssertEqual(job.status, expectedStatus, job.output) }
        XCTAssertLessThan(job.seconds, 60, "the job took \(job.seconds) s to end after a rank failed")
        XCTAssertNoThrow(try results(rank: 1), "rank 1 should have reached the failure point")
    }

    func testRankThatThrowsAbortsTheJobWithItsStatus() throws {
        try assertFailureEndsJob("throw", expectedStatus: 3)
        let job = try String(contentsOf: dir.appendingPathComponent("job.log"), encoding: .utf8)
        XCTAssertTrue(job.contains("lodestone-mpi-check: error: rank 1: deliberate failure (--fail throw)\n"), job)
    }

    func testRankThatExitsWithoutFinalizeEndsTheJob() throws {
        try assertFailureEndsJob("exit", expectedStatus: 3)
    }

    func testKilledRankEndsTheJob() throws {
        try assertFailureEndsJob("kill")
    }

    func testStalledRankEndsTheJobAfterTheStallTimeout() throws {
        // Rank 1 sleeps for 600 s; rank 0 gives up waiting in its barrier after 2 s (status 124) and mpirun
        // ends rank 1 with it.
        try assertFailureEndsJob("stall", expectedStatus: 124, extra: ["--stall-timeout", "2"])
        let job = try String(contentsOf: dir.appendingPathComponent("job.log"), encoding: .utf8)
        XCTAssertTrue(job.contains("lodestone: error: rank 0 of 2: MPI_Barrier waited"), job)
    }
}
