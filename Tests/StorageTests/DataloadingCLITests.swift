import Foundation
import XCTest
@testable import LodestoneStorage
import LodestoneBase

/// 01-dataloading's mistakes as a user meets them: each is one line on stderr and a non-zero exit.
final class DataloadingCLITests: XCTestCase {
    var work: URL!
    override func setUpWithError() throws { work = try temporaryDirectory("cli01") }
    override func tearDown() { try? FileManager.default.removeItem(at: work) }

    /// A manifests directory with one local dataset.
    func manifests() throws -> String {
        try write(patternBytes(5_000, seed: 9), to: work.appendingPathComponent("m/files/a.bin"))
        try write(Data(("Name\tDescription\tSize (#Pairs)\tPerformance\tDownload link\tSource\n"
            + "alpha\ta\t1\t\tfiles/a.bin\t\n").utf8), to: work.appendingPathComponent("m/GoogleSheets_datasets.tsv"))
        return work.appendingPathComponent("m").path
    }

    func run(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, stderr: String) {
        let exe = packageRoot.appendingPathComponent(".build/debug/01-dataloading")
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        p.currentDirectoryURL = work   // a relative store (or a mistyped URL taken for one) lands in the test's directory
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    func assertOneLineError(_ result: (status: Int32, stderr: String), contains: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(result.status, 0, result.stderr, file: file, line: line)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("01-dataloading: error: ") }
        XCTAssertEqual(errors.count, 1, result.stderr, file: file, line: line)
        XCTAssertTrue(errors.first?.contains(contains) ?? false, result.stderr, file: file, line: line)
        XCTAssertFalse(result.stderr.contains("Error Domain="), result.stderr, file: file, line: line)
    }

    func testUnknownStoreSchemeIsRefused() throws {
        let m = try manifests()
        assertOneLineError(try run(["--manifests", m, "--store", "ftp://host/x"]), contains: "unsupported scheme 'ftp://'")
    }

    /// One run per local store (issue 16, defect 9): a second run stops at once naming the first; the lock
    /// file is not an object, and a mistyped `s3:` scheme is not a folder (defect 10).
    func testASecondRunOnTheSameStoreStopsAtOnce() throws {
        let m = try manifests()
        let store = work.appendingPathComponent("s")
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        var running: OutputLock? = try OutputLock(directory: store.path, step: "02-data-records")
        assertOneLineError(try run(["--manifests", m, "--store", store.path]),
                           contains: "\(store.path): in use by another run: pid \(getpid()) on host")
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.appendingPathComponent("data").path))
        running = nil
        XCTAssertNil(running)
        let r = try run(["--manifests", m, "--store", store.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try LocalStore(root: store).list(prefix: "").map(\.key), ["data/alpha.json.gz"])
        assertOneLineError(try run(["--manifests", m, "--store", "s3:/bucket/x"]), contains: "without '//' is not a store")
    }

    func testOnlyWithAnUnknownNameSaysSo() throws {
        let m = try manifests()
        let r = try run(["--manifests", m, "--store", work.appendingPathComponent("s").path, "--only", "NoSuchName"])
        assertOneLineError(r, contains: "--only NoSuchName: no manifest row, repo or repo file matches this name")
        XCTAssertTrue(r.stderr.contains("alpha"), r.stderr)
    }

    func testMissingManifestsDirectoryIsNamed() throws {
        let missing = work.appendingPathComponent("nonexist").path
        let r = try run(["--manifests", missing, "--store", work.appendingPathComponent("s").path])
        XCTAssertEqual(r.status, 2, r.stderr)
        assertOneLineError(r, contains: "\(missing): manifests directory does not exist")
    }

    func testMissingCredentialsNameTheVariables() throws {
        let m = try manifests()
        let r = try run(["--manifests", m, "--store", "s3://bucket/x"],
                        environment: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
        assertOneLineError(r, contains: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
    }

    func testStoreUnderARegularFileIsOneLine() throws {
        let m = try manifests()
        let file = work.appendingPathComponent("plain")
        try Data("x".utf8).write(to: file)
        assertOneLineError(try run(["--manifests", m, "--store", file.appendingPathComponent("store").path]),
                           contains: "\(file.path): cannot create directory: not a directory")
    }

    /// Used to take 83 s (six retries per object); now the first request ends the run.
    func testUnreachableS3EndpointFailsFast() throws {
        let m = try manifests()
        let started = Date()
        let r = try run(["--manifests", m, "--store", "s3://bucket/x", "--endpoint-url", "http://127.0.0.1:\(deadLoopbackPort())"],
                        environment: ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"])
        assertOneLineError(r, contains: "cannot reach the store's endpoint")
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "a dead endpoint must not be retried per object")
    }

    /// A full disk ends the run with one line naming the path and the reason.
    func testFullDiskIsOneClearLine() throws {
        guard let disk = try TinyDisk(size: "16k") else { throw XCTSkip("cannot mount a tmpfs here") }
        defer { disk.unmount() }
        let m = try manifests()
        try write(patternBytes(200_000, seed: 3), to: work.appendingPathComponent("m/files/a.bin"))
        let r = try run(["--manifests", m, "--store", disk.mountPoint.appendingPathComponent("store").path])
        assertOneLineError(r, contains: "no space left on device")
        XCTAssertEqual(try LocalStore(root: disk.mountPoint.appendingPathComponent("store")).list(prefix: "").map(\.key), [])
    }
}
