import Foundation
import XCTest
@testable import LodestoneCore

/// 02-data-records' outputs against its own store (issue 16, defects 3 and 9): an --output inside the store is
/// refused with the object untouched, and a second run on the same local store stops at once.
final class DataRecordsOutputsTests: XCTestCase {
    let cli = Step02()

    func testOutputInsideTheStoreIsRefusedAndTheObjectKept() throws {
        let dir = try temporaryDirectory(self)
        let store = try LocalStore(root: dir.appendingPathComponent("st"))
        let gz = try systemGzip(Data("[\"q\", \"a\"]\n".utf8))
        try store.putData(key: "data/AllNLI.json.gz", gz)
        for output in [store.root.appendingPathComponent("data/AllNLI.json.gz").path,
                       dir.path + "/st/../st/data/AllNLI.json.gz", store.root.appendingPathComponent("data/new.json").path] {
            let r = try cli.run(["--store", store.root.path, "--output", output])
            XCTAssertEqual(r.status, 1, r.stderr)
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("02-data-records: error: ") }
            XCTAssertEqual(errors.count, 1, r.stderr)
            XCTAssertTrue(errors.first?.contains("is inside --store \(store.root.path)") ?? false, r.stderr)
            XCTAssertEqual(try store.getData(key: "data/AllNLI.json.gz"), gz)
            XCTAssertNil(try store.head(key: "data/new.json"))
            XCTAssertNil(try store.head(key: "data_records.json"), "nothing counted, nothing written")
        }
    }

    func testASecondRunOnTheSameStoreStopsAtOnce() throws {
        let dir = try temporaryDirectory(self)
        let store = try LocalStore(root: dir.appendingPathComponent("st"))
        try store.putData(key: "data/a.json.gz", try systemGzip(Data("[\"q\", \"a\"]\n".utf8)))
        let output = dir.appendingPathComponent("records.json")
        var running: OutputLock? = try OutputLock(directory: store.root.path, step: "01-dataloading")
        let r = try cli.run(["--store", store.root.path, "--output", output.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("in use by another run: pid \(getpid()) on host"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
        running = nil
        XCTAssertNil(running)
        let after = try cli.run(["--store", store.root.path, "--output", output.path])
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertEqual(try DataRecords.read(file: output), ["a.json.gz": 1], "the lock file is not an object")
    }
}
