// Parents of paths as users type them, one-character names included: Foundation's NSString traps on those, and
// the output guard took such parents before any work (`03-mosaic-model --output m` died with "Illegal instruction").
import Foundation
import XCTest
@testable import LodestoneBase

final class PathTextTests: XCTestCase {
    func testParentPathAsNSStringDefinesIt() {
        let cases: [(String, String)] = [("m", ""), (".", ""), ("m/", ""), ("a/b", "a"), ("a/b/", "a"), ("/x", "/"),
                                         ("/", "/"), ("/tmp/x.npy", "/tmp"), ("a//b", "a"), ("./m", "."), ("../m", ".."),
                                         ("", ""), ("é/ü", "é")]
        for (path, parent) in cases { XCTAssertEqual(parentPath(path), parent, "parent of '\(path)'") }
    }

    /// The output guard on one-character relative outputs (the current directory holds the input or not).
    func testOutputGuardTakesOneCharacterOutputs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("path-text-\(getpid())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("in"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        for output in ["m", "m/", "x"] {
            XCTAssertNoThrow(try OutputGuard.checkDirectory(output, flag: "--output", inputs: [.init("--from", "in")]))
            XCTAssertNoThrow(try OutputGuard.checkFile(output, flag: "--output", inputs: [.init("--from", "in")]))
        }
        XCTAssertThrowsError(try OutputGuard.checkDirectory("m", flag: "--output", inputs: [.init("--from", ".")])) { error in
            XCTAssertTrue("\(error)".contains("is inside --from ."), "\(error)")
        }
    }
}
