// The one atomic writer and the one error describer: what every step's "nothing lost, one clear line" rests on.
import Foundation
import XCTest
import LodestoneBase

final class AtomicFileTests: XCTestCase {
    var root: URL!
    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("base-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    func testReplacesAFileWholeAndLeavesNoTemporary() throws {
        let url = root.appendingPathComponent("out.bin")
        try AtomicFile.write(Data("old".utf8), to: url)
        try AtomicFile.write(Data("new contents".utf8), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data("new contents".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["out.bin"])
    }

    func testAFailingBodyLeavesThePreviousFile() throws {
        let url = root.appendingPathComponent("out.bin")
        try AtomicFile.write(Data("old".utf8), to: url)
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicFile.write(to: url) { sink in
            try sink.write("half of it")
            throw Boom()
        })
        XCTAssertEqual(try Data(contentsOf: url), Data("old".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["out.bin"])
    }

    func testRefusesADirectoryAndAProtectedInput() throws {
        let dir = root.appendingPathComponent("dir")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: dir.appendingPathComponent("inner"))
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: dir)) {
            XCTAssertEqual("\($0)", "\(dir.path): cannot write: is a directory")
        }
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("inner")), Data("keep".utf8))
        let input = root.appendingPathComponent("input.txt")
        try Data("input".utf8).write(to: input)
        let sameFileOtherSpelling = URL(fileURLWithPath: root.path + "/./input.txt")
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: sameFileOtherSpelling, protecting: [input])) {
            XCTAssertTrue("\($0)".contains("is also an input"), "\($0)")
        }
        XCTAssertEqual(try Data(contentsOf: input), Data("input".utf8))
    }

    func testAParentThatIsAFileIsNotADirectory() throws {
        let blocker = root.appendingPathComponent("blocker")
        try Data("f".utf8).write(to: blocker)
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: blocker.appendingPathComponent("a/b.json"))) {
            XCTAssertEqual("\($0)", "\(blocker.path): cannot create directory: not a directory")
        }
    }

    func testTemporariesOfDeadWritersAreRemovedLiveOnesKept() throws {
        let p = Process(); p.executableURL = URL(fileURLWithPath: "/bin/true"); try p.run(); p.waitUntilExit()
        let dead = root.appendingPathComponent(".out.bin.\(p.processIdentifier).1.partial")
        let live = root.appendingPathComponent(".out.bin.1.2.partial")   // pid 1 is alive
        try Data("x".utf8).write(to: dead); try Data("y".utf8).write(to: live)
        try AtomicFile.write(Data("z".utf8), to: root.appendingPathComponent("out.bin"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted(), [".out.bin.1.2.partial", "out.bin"])
    }

    func testDirectoryReplaceRefusesWhatItMayNotReplace() throws {
        let target = root.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: target.appendingPathComponent("notes"))
        XCTAssertThrowsError(try Directory.writeAtomically(to: target, mayReplace: { _ in false }) { dir in
            try Data("new".utf8).write(to: dir.appendingPathComponent("file"))
        })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target.path), ["notes"])
        try Directory.writeAtomically(to: target, mayReplace: { _ in true }) { dir in
            try Data("new".utf8).write(to: dir.appendingPathComponent("file"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target.path), ["file"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["model"])
    }

    func testFoundationErrorsBecomeOneLine() throws {
        let missing = root.appendingPathComponent("no/such/dir/file.txt")
        do { try Data("x".utf8).write(to: missing); XCTFail("wrote into a missing directory") } catch {
            XCTAssertEqual(describe(error), "\(missing.path): no such file or directory")
        }
        do { _ = try Data(contentsOf: root.appendingPathComponent("absent")); XCTFail("read a missing file") } catch {
            XCTAssertFalse(describe(error).contains("Error Domain"), describe(error))
            XCTAssertTrue(describe(error).contains("absent"), describe(error))
        }
        let cocoa = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteOutOfSpaceError, userInfo: [NSFilePathErrorKey: "/x/y"])
        XCTAssertEqual(describe(cocoa), "/x/y: no space left on device")
        XCTAssertEqual(describe(InputError(file: "a.tsv", line: 3, field: "Name", reason: "empty")), "a.tsv:3: field 'Name': empty")
    }

    func testFullDiskIsNamedAndLeavesNothing() throws {
        let disk = root.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", disk.path]
        try mount.run(); mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here (needs root)") }
        defer {
            let u = Process(); u.executableURL = URL(fileURLWithPath: "/bin/umount"); u.arguments = [disk.path]
            try? u.run(); u.waitUntilExit()
        }
        let url = disk.appendingPathComponent("big.bin")
        try AtomicFile.write(Data("small".utf8), to: url)
        XCTAssertThrowsError(try AtomicFile.write(Data(count: 1 << 20), to: url)) { error in
            XCTAssertEqual("\(error)", "\(url.path): cannot write: no space left on device")
            XCTAssertTrue((error as? FileSystemError)?.isDiskFull == true)
        }
        XCTAssertEqual(try Data(contentsOf: url), Data("small".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk.path), ["big.bin"])
    }
}
