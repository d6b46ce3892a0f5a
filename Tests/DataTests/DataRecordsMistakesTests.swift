import Foundation
import XCTest
@testable import LodestoneCore

/// 02-data-records against the ordinary mistakes (a mistyped store, an empty one, an unwritable output, a full
/// disk, a dead endpoint, Ctrl-C): one line each, a truthful exit status, and a good data_records.json kept.
final class DataRecordsMistakesTests: XCTestCase {
    let cli = Step02()
    var dir: URL!
    var store: LocalStore!
    var output: URL!
    let good = Data("{\n    \"a.json.gz\": 1,\n    \"b.json.gz\": 2\n}\n".utf8)

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self)
        store = try LocalStore(root: dir.appendingPathComponent("store"))
        try store.putData(key: "data/a.json.gz", try systemGzip(Data("[\"q\", \"a\"]\n".utf8)))
        output = dir.appendingPathComponent("out/data_records.json")
        try FileManager.default.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
        try good.write(to: output)
    }

    func assertOneLineError(_ r: (status: Int32, stderr: String), contains: String, status: Int32 = 1,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("02-data-records: error: ") }
        XCTAssertEqual(errors.count, 1, r.stderr, file: file, line: line)
        XCTAssertTrue(errors.first?.contains(contains) ?? false, r.stderr, file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Error Domain="), r.stderr, file: file, line: line)
    }

    /// Used to create the store directory, overwrite data_records.json with {} and exit 0.
    func testMistypedStoreIsAnErrorAndChangesNothing() throws {
        let typo = dir.appendingPathComponent("stroe").path
        assertOneLineError(try cli.run(["--store", typo, "--output", output.path]), contains: "\(typo): no such store directory")
        XCTAssertFalse(FileManager.default.fileExists(atPath: typo))
        XCTAssertEqual(try Data(contentsOf: output), good)
    }

    func testStoreWithoutTrainingObjectsIsAnError() throws {
        let empty = try LocalStore(root: dir.appendingPathComponent("empty"))
        assertOneLineError(try cli.run(["--store", empty.root.path, "--output", output.path]),
                           contains: "\(empty.root.path): no training objects")
        XCTAssertEqual(try Data(contentsOf: output), good)
    }

    func testUnknownSchemeAndFileAsStoreAreOneLine() throws {
        assertOneLineError(try cli.run(["--store", "ftp://host/x", "--output", output.path]), contains: "unsupported scheme 'ftp://'")
        assertOneLineError(try cli.run(["--store", output.path, "--output", dir.appendingPathComponent("o.json").path]),
                           contains: "\(output.path): cannot open store: not a directory")
        XCTAssertEqual(try Data(contentsOf: output), good)
    }

    /// --output under a regular file, or a directory: one line naming the path, before any counting.
    func testUnwritableOutputIsOneLine() throws {
        assertOneLineError(try cli.run(["--store", store.root.path, "--output", output.appendingPathComponent("x.json").path]),
                           contains: "\(output.path): cannot create directory: not a directory")
        assertOneLineError(try cli.run(["--store", store.root.path, "--output", dir.path]),
                           contains: "\(dir.path): cannot write: is a directory")
    }

    func testFullDiskIsOneLine() throws {
        guard let disk = try TinyDisk(size: "4k") else { throw XCTSkip("cannot mount a tmpfs here") }
        defer { disk.unmount() }
        // Fill the disk, then ask for the output there.
        try? Data(count: 64 << 10).write(to: disk.mountPoint.appendingPathComponent("filler"))
        let target = disk.mountPoint.appendingPathComponent("data_records.json")
        assertOneLineError(try cli.run(["--store", store.root.path, "--output", target.path]), contains: "no space left on device")
    }

    /// When every object fails (here the only one is corrupt) the previous data_records.json is kept, not emptied.
    func testAllObjectsFailingKeepsThePreviousFile() throws {
        let gz = try systemGzip(Data(String(repeating: "[\"q\", \"a\"]\n", count: 1000).utf8))
        try store.putData(key: "data/a.json.gz", gz.prefix(gz.count / 2))
        let r = try cli.run(["--store", store.root.path, "--output", output.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("data/a.json.gz: corrupt gzip"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: output), good)
    }

    /// Keys that disappeared count as differences too (the count used to cover only keys present now).
    func testDifferCountIncludesRemovedKeys() throws {
        XCTAssertEqual(DataRecords.changedKeys(from: ["a": 1, "b": 2, "c": 3], to: ["a": 1, "c": 4, "d": 5]), 3)
        let r = try cli.run(["--store", store.root.path, "--output", output.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("; 1 keys differ from the previous file"), r.stderr)   // b.json.gz is gone
    }

    func testUnreachableS3EndpointFailsFast() throws {
        let started = Date()
        let r = try cli.run(["--store", "s3://bucket/x", "--endpoint-url", "http://127.0.0.1:1", "--output", output.path],
                            environment: ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"])
        assertOneLineError(r, contains: "cannot reach the store's endpoint")
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "a dead endpoint must not be retried with backoff")
        XCTAssertEqual(try Data(contentsOf: output), good)
    }

    func testHelpPrintsEachDefaultOnce() throws {
        let process = Process()
        process.executableURL = try cli.executable
        process.arguments = ["--help"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let help = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(help.components(separatedBy: "cnn_dailymail_splitted").count - 1, 1, help)
        XCTAssertFalse(help.contains("Default:"), help)
        let jobs = help.components(separatedBy: "--jobs <jobs>").last?.components(separatedBy: "--force").first ?? ""
        XCTAssertEqual(jobs.lowercased().components(separatedBy: "default").count - 1, 1, jobs)
    }

    /// Ctrl-C: a message, exit 130, the counts already finished kept in the sidecar, data_records.json as it
    /// was; the rerun counts only the rest.
    func testInterruptKeepsFinishedCounts() throws {
        let gz = try systemGzip(Data(String(repeating: "{\"set\": [\"some text\", \"more text\"]}\n", count: 20_000).utf8))
        let total = 30
        for i in 0..<total { try store.putData(key: "data/f\(i).json.gz", gz) }
        try store.delete(key: "data/a.json.gz")
        let sidecar = RecordsSidecar.file(for: output)
        func entries() -> Int {
            guard let data = try? Data(contentsOf: sidecar) else { return 0 }
            return (try? JSONDecoder().decode(RecordsSidecar.self, from: data))?.entries.count ?? 0
        }
        let process = Process()
        process.executableURL = try cli.executable
        process.arguments = ["--store", store.root.path, "--output", output.path, "--jobs", "1"]
        let err = Pipe()
        process.standardError = err
        try process.run()
        while entries() < 2 && process.isRunning { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertTrue(process.isRunning, "counting finished before the interrupt; make the test files larger")
        kill(process.processIdentifier, SIGINT)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, text)
        XCTAssertTrue(text.contains("02-data-records: interrupted: "), text)
        let kept = entries()
        XCTAssertGreaterThanOrEqual(kept, 2, text)
        XCTAssertLessThan(kept, total, text)
        XCTAssertEqual(try Data(contentsOf: output), good, "an interrupted run must not replace data_records.json")

        let rerun = try cli.run(["--store", store.root.path, "--output", output.path])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("\(kept) unchanged (sidecar), \(total - kept) to count"), rerun.stderr)
        XCTAssertEqual(try DataRecords.read(file: output)?.count, total)
    }
}

/// A tmpfs of `size` mounted on a fresh directory: a disk that fills up. nil where mounting is not allowed.
final class TinyDisk {
    let mountPoint: URL

    init?(size: String) throws {
        mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("lodestone-disk-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        guard (try? runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mountPoint.path], input: Data())) != nil else {
            try? FileManager.default.removeItem(at: mountPoint)
            return nil
        }
    }

    func unmount() {
        _ = try? runTool("/bin/umount", [mountPoint.path], input: Data())
        try? FileManager.default.removeItem(at: mountPoint)
    }
}
