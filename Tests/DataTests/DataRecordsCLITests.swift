import Foundation
import XCTest
@testable import LodestoneCore

/// The 02-data-records executable end to end: on a local store (corrupt file → one clear line, exit 1, the rest
/// written) and on moto's S3 server on loopback with signature checking (the storage tests' moto_auth.py).
final class DataRecordsCLITests: XCTestCase {
    let cli = Step02()

    func testCorruptFileGivesOneLineAndNonZeroExitWhileOthersAreCounted() throws {
        let dir = try temporaryDirectory(self)
        let store = try LocalStore(root: dir.appendingPathComponent("store"))
        try store.putData(key: "data/good.json.gz", try systemGzip(Data("[\"a\", \"b\"]\n[\"c\", \"d\"]\n".utf8)))
        let gz = try systemGzip(Data(String(repeating: "{\"set\": [\"x\", \"y\"]}\n", count: 1000).utf8))
        try store.putData(key: "data/bad.json.gz", gz.prefix(gz.count / 2))
        let output = dir.appendingPathComponent("out/data_records.json")
        let result = try cli.run(["--store", store.root.path, "--output", output.path, "--jobs", "2"])
        XCTAssertEqual(result.status, 1, result.stderr)
        let badLines = result.stderr.split(separator: "\n").filter { $0.contains("data/bad.json.gz: corrupt gzip at compressed byte") }
        XCTAssertEqual(badLines.count, 1, result.stderr)
        XCTAssertEqual(try DataRecords.read(file: output), ["good.json.gz": 2])
        XCTAssertEqual(try DataRecords.read(store: store), ["good.json.gz": 2])

        // Fixed, rerun: only the changed object is counted, exit 0, and the original-format file it replaces
        // is read without complaint.
        try store.putData(key: "data/bad.json.gz", gz)
        try Data(#"{"good.json.gz": 2, "old.json.gz": 5}"#.utf8).write(to: output)
        let rerun = try cli.run(["--store", store.root.path, "--output", output.path])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("1 unchanged (sidecar), 1 to count"), rerun.stderr)
        XCTAssertEqual(try DataRecords.read(file: output), ["good.json.gz": 2, "bad.json.gz": 1000])
    }

    func testCountsAnS3StoreOnLoopback() throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let env = AWSEnvironment(accessKeyID: moto.accessKey, secretAccessKey: moto.secretKey, region: "us-east-1",
                                 endpointURL: moto.endpoint)
        let store = try S3Store(bucket: moto.bucket, prefix: "lodestone", environment: env)
        let expected = try Corpus.writeCorpus(store)
        let dir = try temporaryDirectory(self)
        let output = dir.appendingPathComponent("data_records.json")
        let result = try cli.run(["--store", "s3://\(moto.bucket)/lodestone", "--endpoint-url", moto.endpoint,
                              "--output", output.path],
                             environment: ["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": moto.secretKey,
                                           "AWS_REGION": "us-east-1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try DataRecords.read(file: output), expected)
        XCTAssertEqual(try DataRecords.read(store: store), expected)   // the store's copy, via S3
        // The sidecar holds S3 ETags: a rerun recounts nothing.
        let rerun = try cli.run(["--store", "s3://\(moto.bucket)/lodestone", "--endpoint-url", moto.endpoint,
                             "--output", output.path],
                            environment: ["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": moto.secretKey,
                                          "AWS_REGION": "us-east-1"])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("\(expected.count) unchanged (sidecar), 0 to count"), rerun.stderr)
        // A wrong secret fails clearly and writes nothing new.
        let denied = try cli.run(["--store", "s3://\(moto.bucket)/lodestone", "--endpoint-url", moto.endpoint,
                              "--output", dir.appendingPathComponent("denied.json").path],
                             environment: ["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": "wrong",
                                           "AWS_REGION": "us-east-1"])
        XCTAssertNotEqual(denied.status, 0)
        XCTAssertFalse(denied.stderr.contains("wrong"), "the secret must not appear in errors")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("denied.json").path))
    }
}

/// The 02-data-records executable, run as a user would.
struct Step02 {
    /// The built executable, beside the test bundle (swift test builds every product).
    var executable: URL {
        get throws {
            let bundle = Bundle(for: DataRecordsCLITests.self).bundleURL
            let candidates = [bundle, bundle.deletingLastPathComponent(), packageRoot.appendingPathComponent(".build/debug")]
                .map { $0.appendingPathComponent("02-data-records") }
            guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                XCTFail("02-data-records is not built beside the tests (\(bundle.path)); run `swift build` first")
                throw CocoaError(.fileNoSuchFile)
            }
            return url
        }
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = try executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}

/// moto's S3 on loopback with signatures enforced, started through the storage tests' helper script.
final class MotoServer {
    let process = Process()
    let stdin = Pipe()
    let endpoint: String, accessKey: String, secretKey: String, bucket: String

    init() throws {
        let script = packageRoot.appendingPathComponent("Tests/StorageTests/Servers/moto_auth.py")
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let info = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let port = info["port"] as? Int else {
            process.terminate()
            XCTFail("moto is required for the S3 test: pip install 'moto[server]' (\(String(decoding: line, as: UTF8.self)))")
            throw XCTSkip("moto did not start")
        }
        endpoint = "http://127.0.0.1:\(port)"
        accessKey = info["access_key"] as! String
        secretKey = info["secret_key"] as! String
        bucket = info["bucket"] as! String
    }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }
}
