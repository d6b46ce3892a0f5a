import Foundation
import XCTest
@testable import LodestoneStorage
import LodestoneBase

/// `--store` values and local store failures: every mistake is one clear line, and nothing is created by it.
final class StoreOpeningTests: XCTestCase {
    var work: URL!
    override func setUpWithError() throws { work = try temporaryDirectory("open") }
    override func tearDown() { try? FileManager.default.removeItem(at: work) }

    /// ftp://, http://, gs://… used to become a local directory named `ftp:`.
    func testUnknownSchemesAreRefused() throws {
        let cwd = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(work.path)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        for url in ["ftp://host/x", "http://host/x", "https://host/x", "gs://bucket/x"] {
            XCTAssertThrowsError(try openStore(url)) { error in
                XCTAssertTrue("\(error)".contains("unsupported scheme"), "\(error)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), [], "nothing may be created")
        XCTAssertTrue(try openStore("file://" + work.appendingPathComponent("s").path) is LocalStore)
        XCTAssertTrue(try openStore(work.appendingPathComponent("t").path) is LocalStore)
    }

    /// `s3:bucket/x` and `s3:/bucket/x` (a mistyped scheme) used to become a local folder named `s3:` (issue 16, defect 10).
    func testMistypedSchemesAreRefused() throws {
        let cwd = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(work.path)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        for url in ["s3:bucket/x", "s3:/bucket/x", "S3:bucket", "file:store", "gs:bucket/x", "hf:data"] {
            XCTAssertThrowsError(try openStore(url), url) { error in
                XCTAssertTrue("\(error)".contains("without '//' is not a store"), "\(error)")
                XCTAssertTrue("\(error)".contains(url), "\(error)")
            }
            XCTAssertThrowsError(try openStore(url, create: false), url)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), [], "nothing may be created")
        XCTAssertTrue(try openStore("./s3:bucket") is LocalStore, "a folder of that name, spelled as a path")
        XCTAssertEqual(localStorePath("s3:bucket/x"), nil)
        XCTAssertEqual(localStorePath("file:///tmp/s"), "/tmp/s")
        XCTAssertEqual(localStorePath("data/store"), "data/store")
    }

    /// A store that must exist (02, 04 reading what 01 wrote) is not created by a typo.
    func testMissingStoreIsNotCreatedWhenItMustExist() throws {
        let typo = work.appendingPathComponent("stroe")
        XCTAssertThrowsError(try openStore(typo.path, create: false)) { error in
            XCTAssertEqual(error as? StorageError, .noStore(typo.path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: typo.path))
        let file = work.appendingPathComponent("plain")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try openStore(file.path, create: false)) { error in
            XCTAssertEqual("\(error)", "\(file.path): cannot open store: not a directory")
        }
        XCTAssertThrowsError(try openStore(file.appendingPathComponent("store").path)) { error in
            XCTAssertEqual("\(error)", "\(file.path): cannot create directory: not a directory")
        }
    }

    /// Missing credentials used to read "bad store URL 's3://'".
    func testMissingCredentialsNameTheVariables() {
        XCTAssertThrowsError(try AWSEnvironment.fromEnvironment([:])) { error in
            XCTAssertEqual("\(error)", "an s3:// store needs credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
        }
        XCTAssertThrowsError(try AWSEnvironment.fromEnvironment(["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": ""])) { error in
            XCTAssertEqual("\(error)", "an s3:// store needs credentials: AWS_SECRET_ACCESS_KEY is not set")
        }
    }

    /// A rename that fails (the target became a non-empty directory) is one clear line; the temporary is
    /// removed, the directory untouched, and the descriptor closed once (FileSink).
    func testFailedRenameIsOneLineAndLeavesNothing() throws {
        let store = try LocalStore(root: work)
        let target = work.appendingPathComponent("data/a.json.gz")
        XCTAssertThrowsError(try store.write(key: "data/a.json.gz", expectedSize: nil) { w in
            try Data("bytes".utf8).withUnsafeBytes { try w.write($0) }
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try Data("keep".utf8).write(to: target.appendingPathComponent("inside"))
        }) { error in
            XCTAssertEqual(error as? FileSystemError, FileSystemError(path: target.path, action: "cannot replace", code: EISDIR))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path), ["a.json.gz"])
        XCTAssertEqual(try Data(contentsOf: target.appendingPathComponent("inside")), Data("keep".utf8))
    }

    /// Temporaries keep AtomicFile's `.<name>.<pid>.<rand>.partial` naming, so a killed writer's are cleaned up.
    func testAbandonedTemporariesOfDeadWritersAreRemoved() throws {
        let store = try LocalStore(root: work)
        var dead: pid_t = 4_000_000
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        let stale = work.appendingPathComponent("data/.a.json.gz.\(dead).123.partial")
        try write(Data("half".utf8), to: stale)
        XCTAssertEqual(try store.list(prefix: "").map(\.key), [])
        try store.putData(key: "data/a.json.gz", Data("whole".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        XCTAssertEqual(try store.getData(key: "data/a.json.gz"), Data("whole".utf8))
    }

    /// A full disk is one line naming the object and "no space left on device"; nothing partial stays.
    func testFullDiskIsOneClearLine() throws {
        guard let disk = try TinyDisk(size: "64k") else { throw XCTSkip("cannot mount a tmpfs here") }
        defer { disk.unmount() }
        let store = try LocalStore(root: disk.mountPoint)
        XCTAssertThrowsError(try store.putData(key: "data/big.json.gz", patternBytes(1 << 20, seed: 1))) { error in
            XCTAssertEqual("\(error)", "\(disk.mountPoint.path)/data/big.json.gz: cannot write: no space left on device")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk.mountPoint.appendingPathComponent("data").path), [])
    }
}
