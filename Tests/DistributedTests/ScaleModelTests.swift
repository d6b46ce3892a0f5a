import Foundation
import XCTest

/// Scripts/scale_model.py (the cost model bench-scale.sh prints) against projections worked out by hand.
final class ScaleModelTests: XCTestCase {
    /// `project(...)` of the script, as "pairs_per_second efficiency schedule_days comm_seconds".
    func project(_ arguments: String) throws -> [Double] {
        let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scripts")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import sys; sys.path.insert(0, sys.argv[1]); import scale_model as m
            p = m.project(\(arguments))
            print(p.pairs_per_second, p.efficiency, p.schedule_days, p.comm_seconds)
            """, scripts.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch { throw XCTSkip("python3 is not installed") }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return text.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func testTwoMachinesOnOneGigabytePerSecond() throws {
        // 16 pairs at 1 s each: 8 s of compute per machine. 8 Gbit/s = 1 GB/s; a 1 GB gradient on a 2-ring
        // carries 2·1/2 · 1 GB = 1 s, plus 2 latencies of 50 µs. 16 pairs / 9.0001 s; one machine alone does 1 pair/s.
        let got = try project("1.0, 1e9, 2, 8, global_batch=16")
        let pairsPerSecond = 16 / 9.0001
        XCTAssertEqual(got.count, 4)
        XCTAssertEqual(got[0], pairsPerSecond, accuracy: 1e-9)
        XCTAssertEqual(got[1], pairsPerSecond / 2, accuracy: 1e-9)
        XCTAssertEqual(got[2], 32_000_000 / pairsPerSecond / 86_400, accuracy: 1e-6)  // 2·50·2·10,000·16 pairs
        XCTAssertEqual(got[3], 1.0001, accuracy: 1e-12)
    }

    func testOneMachineHasNoCommunication() throws {
        let got = try project("0.5, 1e9, 1, 1, global_batch=16")
        XCTAssertEqual(got[0], 2, accuracy: 1e-12)
        XCTAssertEqual(got[1], 1, accuracy: 1e-12)
        XCTAssertEqual(got[3], 0)
    }

    func testMoreMachinesThanPairsStillComputeOnePairEach() throws {
        // 32 machines, 16 pairs: each busy machine computes one pair (1 s); the ring carries 2·31/32 · 1 GB at
        // 100 Gbit/s = 12.5 GB/s, plus 62 latencies, and overlap 0.5 hides half of that.
        let comm = 0.5 * (2.0 * 31 / 32 * 1e9 / 12.5e9 + 62 * 50e-6)
        let got = try project("1.0, 1e9, 32, 100, global_batch=16, overlap=0.5")
        XCTAssertEqual(got[3], comm, accuracy: 1e-12)
        XCTAssertEqual(got[0], 16 / (1 + comm), accuracy: 1e-9)
    }
}
