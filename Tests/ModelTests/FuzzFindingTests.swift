// What Scripts/fuzz.sh and a review of its harnesses' targets found: lengths, shapes and ids read from a stranger's
// file that overflowed or sized memory before any check. Each one, on the old code, trapped the process or tried to
// allocate gigabytes; now it is one line naming the file and the field.
import Foundation
import XCTest
@testable import LodestoneModel
@testable import LodestoneCore

final class FuzzFindingTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory("fuzz-finding") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func file(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func assertOneLine(_ error: Error, naming parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        let text = "\(error)"
        XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
        for part in parts { XCTAssertTrue(text.contains(part), "\(text) lacks \(part)", file: file, line: line) }
    }

    /// BINUNICODE8 (0x8D) with a length of 2⁶⁴ − 1: `pc + length` overflowed (a trap) before the bounds check.
    func testPickleStringLengthNearTwoToTheSixtyFour() {
        for length in [[UInt8](repeating: 0xFF, count: 8), [0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]] {
            let program: [UInt8] = [0x80, 0x02, 0x8D] + length + [0x2E]
            var machine = PickleMachine(file: "data.pkl")
            XCTAssertThrowsError(try program.withUnsafeBytes { try machine.run($0) }) { error in
                assertOneLine(error, naming: ["data.pkl", "offset 2", "truncated pickle"])
            }
        }
    }

    /// A .npy shape whose byte count overflows Int: rows × dim × 4 trapped before the size check.
    func testNpyShapeWhoseByteCountOverflows() throws {
        for shape in ["(4611686018427387904, 4)", "(3, 9223372036854775807)"] {
            var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }".utf8)
            while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
            header.append(0x0A)
            let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
            let url = try file("huge.npy", bytes)
            XCTAssertThrowsError(try NpyMatrix(path: url.path)) { error in
                assertOneLine(error, naming: [url.path, "field 'shape'", "more bytes than any file holds"])
            }
        }
    }

    /// tokenizer.json ids past Int32 trapped in `Int32(id)`; an id far past the token count sized the id table
    /// from the file (2³¹ − 1 strings).
    func testTokenizerJSONIdsOutOfRange() throws {
        for (vocab, field) in [(#"{"[PAD]": 0, "big": 4294967296}"#, "model.vocab.big"),
                               (#"{"[PAD]": 0, "far": 2147483647}"#, "far"),
                               (#"{"[PAD]": 0, "minus": -1}"#, "minus")] {
            let url = try file("tokenizer.json", Array(#"{"model": {"type": "WordPiece", "vocab": \#(vocab)}}"#.utf8))
            XCTAssertThrowsError(try Vocabulary(tokenizerJSON: url)) { error in
                assertOneLine(error, naming: [url.path, field])
            }
        }
    }
}
