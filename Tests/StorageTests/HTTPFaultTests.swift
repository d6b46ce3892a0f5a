import Foundation
import XCTest
@testable import LodestoneStorage

/// The transfer engine against a loopback server that fails on purpose: every fault ends with a
/// byte-identical object or a clear failure, and nothing partial in the store.
final class HTTPFaultTests: XCTestCase {
    var server: FaultServer!
    var storeDir: URL!
    var store: LocalStore!
    let content = patternBytes(3_000_001, seed: 42)

    override func setUpWithError() throws {
        server = try FaultServer()
        try write(content, to: server.root.appendingPathComponent("a/blob.jsonl.gz"))
        storeDir = try temporaryDirectory("store")
        store = try LocalStore(root: storeDir)
    }

    override func tearDown() {
        server?.stop()
        if let d = storeDir { try? FileManager.default.removeItem(at: d) }
    }

    func ingest(_ url: String, http: HTTPClient = quickHTTP(), size: Int64? = nil) throws -> Int64 {
        let (n, _) = try streamVerified(from: .http(url), http: http, expectedSize: size, expectedSHA256: nil, what: url) { consume in
            try store.write(key: "data/blob.json.gz", expectedSize: size) { w in _ = try consume(w) }
        }
        return n
    }

    func assertStoredIdentical(file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try store.getData(key: "data/blob.json.gz"), content, file: file, line: line)
        XCTAssertEqual(try store.list(prefix: "").map(\.key), ["data/blob.json.gz"], file: file, line: line)
    }

    func testEveryTransientFaultEndsByteIdentical() throws {
        for mode in ["500", "reset", "short", "norange"] {
            try? store.delete(key: "data/blob.json.gz")
            let path = "/fault/\(mode)/a/blob.jsonl.gz"
            XCTAssertEqual(try ingest(server.base + path), Int64(content.count), mode)
            try assertStoredIdentical()
            XCTAssertGreaterThanOrEqual(try server.stats()[path] ?? 0, 2, "\(mode): the fault should have forced a retry")
        }
    }

    func testStallIsAbortedAndResumed() throws {
        let started = Date()
        _ = try ingest(server.base + "/fault/stall/a/blob.jsonl.gz")
        try assertStoredIdentical()
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "a 1 s stall timeout must not wait for the 30 s stall")
    }

    func testTooManyRequestsHonoursRetryAfter() throws {
        let started = Date()
        _ = try ingest(server.base + "/fault/429/a/blob.jsonl.gz")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.9, "Retry-After: 1 was not honoured")
        try assertStoredIdentical()
    }

    func testPersistentServerErrorFailsClearlyAndStoresNothing() throws {
        XCTAssertThrowsError(try ingest(server.base + "/fault/always500/a/blob.jsonl.gz", http: quickHTTP(attempts: 3))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("HTTP 500") && text.contains("3 attempts"), text)
        }
        XCTAssertEqual(try server.stats()["/fault/always500/a/blob.jsonl.gz"], 3)
        XCTAssertEqual(try store.list(prefix: ""), [])
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: storeDir.path).filter { $0.hasSuffix(".partial") }
        XCTAssertEqual(leftovers, [])
    }

    func testNotFoundIsNotRetried() throws {
        XCTAssertThrowsError(try ingest(server.base + "/files/a/missing.jsonl.gz")) { error in
            XCTAssertTrue("\(error)".contains("HTTP 404"), "\(error)")
        }
        XCTAssertEqual(try server.stats()["/files/a/missing.jsonl.gz"], 1)
    }

    func testWrongExpectedSizeIsRefused() throws {
        XCTAssertThrowsError(try ingest(server.base + "/files/a/blob.jsonl.gz", size: Int64(content.count + 1))) { error in
            XCTAssertTrue("\(error)".contains("expected \(content.count + 1)"), "\(error)")
        }
        XCTAssertNil(try store.head(key: "data/blob.json.gz"))
    }

    func testRangedStreamAndSmallReads() throws {
        let http = quickHTTP()
        var req = HTTPRequest(url: server.base + "/files/a/blob.jsonl.gz")
        req.range = (1_000_000, 1_000_100)
        let stream = try http.openStream(req)
        var got = Data()
        var buf = [UInt8](repeating: 0, count: 7)
        while true {
            let n = try buf.withUnsafeMutableBytes { try stream.read(into: $0) }
            if n == 0 { break }
            got.append(contentsOf: buf[0..<n])
        }
        XCTAssertEqual(got, content[1_000_000..<1_000_100])
        XCTAssertEqual(stream.resourceSize, Int64(content.count))
    }

    func testCredentialsAreRedactedFromErrors() throws {
        let url = server.base.replacingOccurrences(of: "http://", with: "http://user:hunter2@") + "/files/a/missing.jsonl.gz?token=hunter2"
        XCTAssertThrowsError(try ingest(url)) { error in
            XCTAssertFalse("\(error)".contains("hunter2"), "\(error)")
        }
    }
}
