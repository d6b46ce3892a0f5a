import Foundation
import XCTest
@testable import LodestoneStorage
@testable import LodestoneData

/// An S3 endpoint where nothing listens: the first request fails with one clear line, and no later request
/// (object after object) tries the dead endpoint again.
final class UnreachableStoreTests: XCTestCase {
    func deadStore() throws -> S3Store {
        let env = AWSEnvironment(accessKeyID: "k", secretAccessKey: "s", endpointURL: "http://127.0.0.1:\(deadLoopbackPort())")
        // The default policy retries transient failures six times with backoff (about 30 s): the store must not.
        return try S3Store(bucket: "b", environment: env, http: HTTPClient())
    }

    func testRefusedConnectionFailsAtTheFirstRequest() throws {
        let store = try deadStore()
        XCTAssertThrowsError(try store.list(prefix: "data/")) { error in
            guard case .unreachable(let endpoint, let reason)? = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertTrue(endpoint.hasPrefix("http://127.0.0.1:"), endpoint)
            XCTAssertTrue(reason.lowercased().contains("connect"), reason)
            XCTAssertTrue("\(error)".contains("cannot reach the store's endpoint"), "\(error)")
        }
        // Every later request fails with the same error without trying again.
        for key in ["a", "b", "c"] {
            XCTAssertThrowsError(try store.head(key: key)) { XCTAssertTrue("\($0)".contains("cannot reach"), "\($0)") }
            XCTAssertThrowsError(try store.openReader(key: key)) { XCTAssertTrue("\($0)".contains("cannot reach"), "\($0)") }
        }
    }

    /// The ingest stops at the dead store instead of failing each object in turn.
    func testIngestStopsAtAnUnreachableStore() throws {
        let work = try temporaryDirectory("dead")
        defer { try? FileManager.default.removeItem(at: work) }
        var plan = IngestPlan()
        for i in 0..<40 {
            let file = work.appendingPathComponent("f\(i).bin")
            try write(patternBytes(100, seed: UInt64(i)), to: file)
            plan.transfers.append(PlannedTransfer(name: "f\(i)", source: .file(file.path), key: "data/f\(i).json.gz", size: 100))
        }
        let ingester = Ingester(store: try deadStore(), http: quickHTTP(), logger: .init(label: "test"),
                                progress: IngestProgress(logger: .init(label: "test"), interactive: false))
        ingester.jobs = 2
        let report = ingester.run(plan)
        guard case .unreachable? = report.fatal as? StorageError else { return XCTFail("no fatal error: \(String(describing: report.fatal))") }
        let tried = report.outcomes.filter { if case .failed(let r) = $0.outcome { return !r.hasPrefix("not run") } else { return true } }
        XCTAssertLessThanOrEqual(tried.count, 2, "only the transfers already started may have tried the store")
    }
}
