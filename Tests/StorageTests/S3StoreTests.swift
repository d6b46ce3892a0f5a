import Foundation
import XCTest
@testable import LodestoneStorage
@testable import LodestoneData

/// S3Store against moto's S3 server on loopback with signatures enforced (see Servers/moto_auth.py).
final class S3StoreTests: XCTestCase {
    static var moto: PythonServer?

    override class func tearDown() { moto?.stop(); moto = nil }

    func server() throws -> PythonServer {
        if let m = Self.moto { return m }
        do {
            let m = try PythonServer(script: "moto_auth.py")
            Self.moto = m
            return m
        } catch {
            XCTFail("moto is required for the S3 tests: pip install 'moto[server]' (\(error))")
            throw error
        }
    }

    func store(prefix: String, secret: String? = nil) throws -> S3Store {
        let m = try server()
        let env = AWSEnvironment(accessKeyID: m.info["access_key"] as! String,
                                 secretAccessKey: secret ?? (m.info["secret_key"] as! String),
                                 region: "us-east-1", endpointURL: m.base)
        let s = try S3Store(bucket: m.info["bucket"] as! String, prefix: prefix,
                            environment: env, http: HTTPClient(retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.05)))
        s.minimumPartSize = 5 << 20
        return s
    }

    func testSinglePutHeadGetDelete() throws {
        let s = try store(prefix: "single")
        let body = Data("{\"texts\": [\"a\", \"b\"]}\n".utf8)
        try s.putData(key: "data/small file.json.gz", body)
        XCTAssertEqual(try s.head(key: "data/small file.json.gz")?.size, Int64(body.count))
        XCTAssertEqual(try s.getData(key: "data/small file.json.gz"), body)
        XCTAssertNil(try s.head(key: "data/missing.json.gz"))
        XCTAssertThrowsError(try s.openReader(key: "data/missing.json.gz")) { error in
            XCTAssertEqual(error as? StorageError, .notFound(store: s.description, key: "data/missing.json.gz"))
        }
        try s.delete(key: "data/small file.json.gz")
        XCTAssertNil(try s.head(key: "data/small file.json.gz"))
    }

    func testMultipartPutOfUnknownLengthAndRangedGet() throws {
        let s = try store(prefix: "multi")
        // 12 MiB + 3 bytes of a known pattern, written in odd-sized chunks with no size hint: 3 parts.
        let size = (12 << 20) + 3
        let expected = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) })
        try s.write(key: "big.bin", expectedSize: nil) { w in
            var offset = 0
            while offset < size {
                let n = min(777_777, size - offset)
                try expected[offset..<offset + n].withUnsafeBytes { try w.write($0) }
                offset += n
            }
        }
        let info = try XCTUnwrap(try s.head(key: "big.bin"))
        XCTAssertEqual(info.size, Int64(size))
        XCTAssertTrue(info.etag?.hasSuffix("-3") ?? false, "expected a 3-part multipart ETag, got \(info.etag ?? "nil")")
        XCTAssertEqual(try s.getData(key: "big.bin"), expected)
        let lo = (5 << 20) - 10, hi = (5 << 20) + 10
        let reader = try s.openReader(key: "big.bin", range: Int64(lo)..<Int64(hi))
        var got = [UInt8](repeating: 0, count: 100)
        var n = 0
        while true {
            let k = try got.withUnsafeMutableBytes { try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[n...])) }
            if k == 0 { break }
            n += k
        }
        XCTAssertEqual(Data(got[0..<n]), expected[lo..<hi])
    }

    func testFailedWriteLeavesNothingVisible() throws {
        let s = try store(prefix: "")
        struct Boom: Error {}
        let chunk = Data(repeating: 7, count: 1 << 20)
        XCTAssertThrowsError(try s.write(key: "aborted-half.bin", expectedSize: nil) { w in
            for _ in 0..<7 { try chunk.withUnsafeBytes { try w.write($0) } }  // one part uploaded already
            throw Boom()
        })
        XCTAssertNil(try s.head(key: "aborted-half.bin"))
        XCTAssertEqual(try s.list(prefix: "").filter { $0.key.hasPrefix("aborted") }, [])
    }

    /// Listing pages through continuation tokens, under a store prefix and a listing prefix that hold '/'
    /// (sent as %2F, as AWS requires; moto before 5.2.5 rejected such signatures, so setup.sh asks for 5.2.5+).
    func testListingPastOneThousandKeys() throws {
        let s = try store(prefix: "listing")
        let keys = (0..<1003).map { String(format: "data/many/k%05d.json.gz", $0) }
        for k in keys { try s.putData(key: k, Data(k.utf8)) }
        try s.putData(key: "data/other-x", Data("x".utf8))
        let listed = try s.list(prefix: "data/many/")
        XCTAssertEqual(listed.map(\.key), keys)
        XCTAssertEqual(listed.last?.size, Int64(keys.last!.utf8.count))
    }

    /// The ingest path end to end: an HTTP source that resets mid-body, streamed into a multipart upload.
    func testIngestFromFlakyHTTPIntoMultipartObject() throws {
        let s = try store(prefix: "ingest")
        let web = try FaultServer()
        defer { web.stop() }
        let body = patternBytes((11 << 20) + 5, seed: 11)
        try write(body, to: web.root.appendingPathComponent("f.jsonl.gz"))
        let plan = IngestPlan(transfers: [PlannedTransfer(name: "f", source: .http(web.base + "/fault/reset/f.jsonl.gz"),
                                                          key: "data/f.json.gz", size: nil, sha256: nil)])
        let ingester = Ingester(store: s, http: quickHTTP(), logger: .init(label: "test"),
                                progress: IngestProgress(logger: .init(label: "test"), interactive: false))
        let report = ingester.run(plan)
        XCTAssertEqual(report.failures.map(\.reason), [])
        XCTAssertEqual(try web.stats()["/fault/reset/f.jsonl.gz"], 2, "one reset, one resumed GET")
        XCTAssertEqual(try s.getData(key: "data/f.json.gz"), body)
        XCTAssertEqual(ingester.run(plan).outcomes.first?.outcome, .alreadyPresent(bytes: Int64(body.count)))
    }

    func testWrongSecretIsRejectedWithoutLeakingIt() throws {
        let wrong = "not-the-secret-" + UUID().uuidString
        let s = try store(prefix: "denied", secret: wrong)
        XCTAssertThrowsError(try s.putData(key: "x", Data("x".utf8))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("403"), text)
            XCTAssertFalse(text.contains(wrong), "secret leaked into: \(text)")
        }
        XCTAssertThrowsError(try s.list(prefix: ""))
    }
}
