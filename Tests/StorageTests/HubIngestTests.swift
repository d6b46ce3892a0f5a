import Foundation
import XCTest
@testable import LodestoneStorage
@testable import LodestoneData

/// Planning and ingest against the loopback Hub-like server: listing pages, exclusions, key mapping,
/// sha256 verification, path-escape refusal, idempotent reruns.
final class HubIngestTests: XCTestCase {
    var server: FaultServer!
    var work: URL!
    let alpha = patternBytes(200_000, seed: 1), beta = patternBytes(150_001, seed: 2)
    let plain = patternBytes(70_000, seed: 3), local = patternBytes(5_000, seed: 4)

    override func setUpWithError() throws {
        server = try FaultServer()
        let hub = server.root.appendingPathComponent("hub/test")
        try write(alpha, to: hub.appendingPathComponent("repo/alpha.stackexchange.com.jsonl.gz"))
        try write(patternBytes(10, seed: 5), to: hub.appendingPathComponent("repo/security.stackexchange.com.jsonl.gz"))
        try write(Data("readme".utf8), to: hub.appendingPathComponent("repo/README.md"))
        try write(beta, to: hub.appendingPathComponent("repo/sub/beta.jsonl.gz"))
        try write(alpha, to: hub.appendingPathComponent("evil/ok.jsonl.gz"))
        let lfs: [String: Any] = ["oid": String(repeating: "0", count: 64), "size": 5]
        try write(try JSONSerialization.data(withJSONObject: [
            ["type": "file", "path": "../../escape.jsonl.gz", "size": 5, "lfs": lfs],
            ["type": "file", "path": "/abs.jsonl.gz", "size": 5, "lfs": lfs]]), to: hub.appendingPathComponent("evil.extra.json"))
        try write(beta, to: hub.appendingPathComponent("liar/x.jsonl.gz"))
        try write(try JSONSerialization.data(withJSONObject: [
            ["type": "file", "path": "x.jsonl.gz", "size": beta.count, "lfs": ["oid": String(repeating: "a", count: 64), "size": beta.count]]]),
                  to: hub.appendingPathComponent("liar.extra.json"))
        try write(plain, to: server.root.appendingPathComponent("plain.jsonl.gz"))

        work = try temporaryDirectory("ingest")
        try write(local, to: work.appendingPathComponent("manifests/files/local.jsonl.gz"))
        try write(Data(("Name\tDescription\tSize (#Pairs)\tPerformance\tDownload link\tSource\n"
            + "plain\tover http\t1\t\t\(server.base)/files/plain.jsonl.gz\t\n"
            + "local\trelative path\t2\t\tfiles/local.jsonl.gz\t\n"
            + "unknown\tno link\t3\t\t\t\n").utf8), to: work.appendingPathComponent("manifests/GoogleSheets_datasets.tsv"))
        try write(Data("Repo\tRevision\tExclude\tFolder\ntest/repo\tmain\tsecurity\t\ntest/evil\t\t\t\ntest/liar\t\t\t\n".utf8),
                  to: work.appendingPathComponent("manifests/HuggingFace_repos.tsv"))
    }

    override func tearDown() {
        server?.stop()
        if let w = work { try? FileManager.default.removeItem(at: w) }
    }

    func testPlanIngestRerunAndRepair() throws {
        let manifests = try Manifests.load(directory: work.appendingPathComponent("manifests"))
        let hub = HubClient(endpoint: server.base, token: "secret-token", http: quickHTTP())
        let plan = try IngestPlanner.plan(manifests, hub: hub)
        XCTAssertEqual(plan.transfers.map(\.key).sorted(), [
            "data/evil/ok.json.gz", "data/liar/x.json.gz", "data/local.json.gz", "data/plain.json.gz",
            "data/repo/alpha.stackexchange.com.json.gz", "data/repo/sub/beta.json.gz"])
        XCTAssertEqual(plan.skipped.map(\.name), ["unknown"])
        XCTAssertEqual(plan.failures.map(\.name).sorted(), ["evil/../../escape.jsonl.gz", "evil//abs.jsonl.gz"])
        XCTAssertTrue(plan.failures.allSatisfy { $0.reason.contains("escapes its folder") })
        XCTAssertEqual(plan.transfers.first { $0.name == "repo/sub/beta.jsonl.gz" }?.size, Int64(beta.count))

        let store = try LocalStore(root: work.appendingPathComponent("store"))
        let ingester = Ingester(store: store, http: quickHTTP(), logger: .init(label: "test"),
                                progress: IngestProgress(logger: .init(label: "test"), interactive: false))
        ingester.jobs = 3
        let report = ingester.run(plan)
        let failed = report.failures.map(\.name).sorted()
        XCTAssertEqual(failed, ["evil/../../escape.jsonl.gz", "evil//abs.jsonl.gz", "liar/x.jsonl.gz"])
        XCTAssertTrue(report.failures.first { $0.name == "liar/x.jsonl.gz" }!.reason.contains("sha256"))
        let expected: [String: Data] = ["data/evil/ok.json.gz": alpha, "data/local.json.gz": local, "data/plain.json.gz": plain,
                                        "data/repo/alpha.stackexchange.com.json.gz": alpha, "data/repo/sub/beta.json.gz": beta]
        XCTAssertEqual(try store.list(prefix: "").map(\.key), expected.keys.sorted())
        for (key, data) in expected { XCTAssertEqual(try store.getData(key: key), data, key) }
        XCTAssertFalse(try FileManager.default.subpathsOfDirectory(atPath: work.path).contains { $0.contains("escape") })

        // A rerun transfers nothing new.
        let again = ingester.run(plan)
        XCTAssertEqual(again.outcomes.filter { if case .alreadyPresent = $0.outcome { return true } else { return false } }.count, 5)

        // A corrupted object of the right size is found by its sha256 and fetched again.
        try store.putData(key: "data/repo/sub/beta.json.gz", patternBytes(beta.count, seed: 99))
        let repair = ingester.run(plan)
        XCTAssertEqual(repair.outcomes.first { $0.transfer.key == "data/repo/sub/beta.json.gz" }?.outcome, .stored(bytes: Int64(beta.count)))
        XCTAssertEqual(try store.getData(key: "data/repo/sub/beta.json.gz"), beta)
    }

    func testOnlyLimitsTheRunAndRejectsUnknownNames() throws {
        let manifests = try Manifests.load(directory: work.appendingPathComponent("manifests"))
        let hub = HubClient(endpoint: server.base, http: quickHTTP())
        let plan = try IngestPlanner.plan(manifests, hub: hub, only: ["local", "repo/sub/beta.jsonl.gz"])
        XCTAssertEqual(plan.transfers.map(\.key), ["data/local.json.gz", "data/repo/sub/beta.json.gz"])
        XCTAssertThrowsError(try IngestPlanner.plan(manifests, hub: hub, only: ["nosuch"])) { error in
            XCTAssertTrue("\(error)".contains("nosuch"))
        }
    }

    func testModelDownloadIsVerifiedAndAtomic() throws {
        let hub = HubClient(endpoint: server.base, http: quickHTTP())
        let files = try hub.listFiles(repo: "test/repo", revision: "main", kind: .model)
        XCTAssertEqual(files.map(\.path).sorted(), ["README.md", "alpha.stackexchange.com.jsonl.gz",
                                                    "security.stackexchange.com.jsonl.gz", "sub/beta.jsonl.gz"])
        let target = work.appendingPathComponent("model/sub/beta.bin")
        try hub.download(repo: "test/repo", revision: "main", kind: .model, path: "sub/beta.jsonl.gz", to: target)
        XCTAssertEqual(try Data(contentsOf: target), beta)
        XCTAssertThrowsError(try hub.download(repo: "test/liar", revision: "main", kind: .model, path: "x.jsonl.gz",
                                              to: work.appendingPathComponent("model/x.bin"))) { error in
            XCTAssertTrue("\(error)".contains("sha256"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("model").path), ["sub"])
    }
}
