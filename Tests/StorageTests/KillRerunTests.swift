import Foundation
import XCTest
@testable import LodestoneStorage

/// SIGKILL 01-dataloading in the middle of a transfer, rerun it: the store ends as a clean run leaves it,
/// and no partial object is ever visible under a final key.
final class KillRerunTests: XCTestCase {
    func binary() throws -> URL {
        let url = packageRoot.appendingPathComponent(".build/debug/01-dataloading")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            XCTFail("\(url.path) is missing: build it first (swift build --build-tests builds it)")
            throw CocoaError(.fileNoSuchFile)
        }
        return url
    }

    func run(_ exe: URL, _ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        return p
    }

    func testKilledIngestRerunsToTheCleanResult() throws {
        let exe = try binary()
        let server = try FaultServer()
        defer { server.stop() }
        let work = try temporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(at: work) }
        let slow = patternBytes(2_500_000, seed: 7), small = patternBytes(1_000, seed: 8)
        try write(slow, to: server.root.appendingPathComponent("slow.bin"))
        try write(small, to: server.root.appendingPathComponent("small.bin"))
        // "slow" trickles at ~1 MB/s, so the kill lands mid-body.
        try write(Data(("Name\tDescription\tSize (#Pairs)\tPerformance\tDownload link\tSource\n"
            + "slow\ts\t1\t\t\(server.base)/fault/slow/slow.bin\t\n"
            + "small\ts\t1\t\t\(server.base)/files/small.bin\t\n").utf8), to: work.appendingPathComponent("m/GoogleSheets_datasets.tsv"))
        let storeDir = work.appendingPathComponent("store")
        let args = ["--manifests", work.appendingPathComponent("m").path, "--store", storeDir.path, "--jobs", "2"]
        let store = try LocalStore(root: storeDir)

        let first = try run(exe, args)
        let deadline = Date().addingTimeInterval(15)
        func partials() -> [String] {
            ((try? FileManager.default.subpathsOfDirectory(atPath: storeDir.path)) ?? []).filter { $0.hasSuffix(".partial") }
        }
        while try Date() < deadline && !(store.head(key: "data/small.json.gz") != nil && !partials().isEmpty) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.3)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        XCTAssertEqual(first.terminationReason, .uncaughtSignal)
        XCTAssertEqual(try store.list(prefix: "").map(\.key), ["data/small.json.gz"], "only complete objects may be visible")
        XCTAssertFalse(partials().isEmpty, "the kill should have landed mid-transfer")

        let second = try run(exe, args)
        second.waitUntilExit()
        XCTAssertEqual(second.terminationStatus, 0)
        XCTAssertEqual(try store.list(prefix: "").map(\.key), ["data/slow.json.gz", "data/small.json.gz"])
        XCTAssertEqual(try store.getData(key: "data/slow.json.gz"), slow)
        XCTAssertEqual(try store.getData(key: "data/small.json.gz"), small)
        XCTAssertEqual(partials(), [], "the killed run's temporary file should be gone")
    }
}
