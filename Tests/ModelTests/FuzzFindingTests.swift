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

/// The second fuzz run's findings (pickle nesting, torch views, zip sizes, CRLF vocab.txt): each trapped, overflowed
/// the stack or allocated what the file claimed on the old code.
extension FuzzFindingTests {
    func runPickle(_ program: [UInt8]) throws {
        var machine = PickleMachine(file: "data.pkl")
        _ = try program.withUnsafeBytes { try machine.run($0) }
    }

    /// 300,000 TUPLE1 in a row built a nest whose recursive release overflowed the stack.
    func testPickleNestDeeperThanTheCapIsRefused() throws {
        let deep: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 300_000) + [0x2E]
        XCTAssertThrowsError(try runPickle(deep)) { assertOneLine($0, naming: ["data.pkl", "nested deeper than 100"]) }
        let lists: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: 300_000)
            + [UInt8](repeating: 0x61, count: 299_999) + [0x2E]                       // EMPTY_LIST…, APPEND…
        XCTAssertThrowsError(try runPickle(lists)) { assertOneLine($0, naming: ["nested deeper than 100"]) }
        // A nest within the cap still reads.
        let fifty: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 50) + [0x2E]
        XCTAssertNoThrow(try runPickle(fifty))
    }

    /// Through the memo a list could be appended to itself (a cycle), or grow after it was nested (so the depth
    /// recorded for its parent was a lie).
    func testPickleContainersCannotChangeOnceNested() throws {
        // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP
        XCTAssertThrowsError(try runPickle([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E])) {
            assertOneLine($0, naming: ["offset 7", "inside itself"])
        }
        // EMPTY_LIST, BINPUT 0, TUPLE1, BINGET 0, NONE, APPEND, STOP
        XCTAssertThrowsError(try runPickle([0x80, 0x02, 0x5D, 0x71, 0x00, 0x85, 0x68, 0x00, 0x4E, 0x61, 0x2E])) {
            assertOneLine($0, naming: ["offset 9", "already inside another container"])
        }
        // EMPTY_DICT, BINPUT 0, EMPTY_LIST, APPEND (the dict inside a list), BINGET 0, NONE, NONE, SETITEM
        XCTAssertThrowsError(try runPickle([0x80, 0x02, 0x7D, 0x71, 0x00, 0x5D, 0x30, 0x5D, 0x68, 0x00, 0x61,
                                            0x68, 0x00, 0x4E, 0x4E, 0x73, 0x2E])) {
            assertOneLine($0, naming: ["already inside another container"])
        }
    }

    /// A checkpoint of one float32 tensor "w" on storage "0" of `numel` elements holding `floats`; ints as LONG1.
    func checkpoint(numel: Int, offset: Int, shape: [Int], strides: [Int], floats: [Float]) throws -> URL {
        var p = PickleBuilder()
        func long(_ v: Int) { p.op(0x8A); p.bytes.append(8); for k in 0..<8 { p.bytes.append(UInt8(truncatingIfNeeded: v >> (8 * k))) } }
        p.op(0x7D); p.op(0x28); p.string("w")
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.op(0x28)
        p.op(0x28); p.string("storage"); p.global("torch", "FloatStorage"); p.string("0"); p.string("cpu"); long(numel); p.op(0x74)
        p.op(0x51)
        long(offset)
        p.op(0x28); shape.forEach(long); p.op(0x74)
        p.op(0x28); strides.forEach(long); p.op(0x74)
        p.op(0x89); p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52)
        p.op(0x74); p.op(0x52); p.op(0x75); p.op(0x2E)
        return try file("pytorch_model.bin", storedZip([("archive/data.pkl", p.bytes), ("archive/data/0", littleEndianFloats(floats))]))
    }

    func testTorchViewsWhoseArithmeticOverflows() throws {
        let cases: [(numel: Int, offset: Int, shape: [Int], strides: [Int], says: String)] = [
            (4, 0, [1 << 62, 4], [0, 0], "more elements than memory holds"),
            (4, 0, [3, 3], [1 << 62, 1 << 62], "reaches past any storage"),
            (4, 3, [2], [-1], "negative stride"),
            (1 << 62, 0, [2], [1], "claims 4611686018427387904 elements"),
            (4, 0, [1 << 20, 1 << 20], [0, 0], "holds more elements than its storage"),
        ]
        for c in cases {
            let url = try checkpoint(numel: c.numel, offset: c.offset, shape: c.shape, strides: c.strides, floats: [1, 2, 3, 4])
            XCTAssertThrowsError(try TorchCheckpoint.read(url), "\(c)") { assertOneLine($0, naming: [url.path, "w: ", c.says]) }
        }
    }

    /// A size-1 dimension's stride is never stepped, so any value there is valid; the old odometer added it anyway.
    func testHugeStrideOnASizeOneDimensionReads() throws {
        let url = try checkpoint(numel: 4, offset: 1, shape: [1, 2, 1], strides: [Int.max, 2, Int.max], floats: [1, 2, 3, 4])
        XCTAssertEqual(try TorchCheckpoint.read(url)["w"], TensorData(shape: [1, 2, 1], values: [2, 4]))
    }

    /// A one-entry zip whose central record takes its sizes from a ZIP64 extra field.
    func zip64(method: UInt16, size: UInt64, compressed: UInt64, payload: [UInt8]) throws -> URL {
        var out: [UInt8] = []
        func le(_ v: UInt64, _ bytes: Int) { for k in 0..<bytes { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) } }
        let name = Array("e".utf8)
        le(0x0403_4b50, 4); le(45, 2); le(0, 2); le(UInt64(method), 2); le(0, 8); le(0xFFFF_FFFF, 4); le(0xFFFF_FFFF, 4)
        le(UInt64(name.count), 2); le(0, 2); out += name; out += payload
        let central = out.count
        le(0x0201_4b50, 4); le(45, 2); le(45, 2); le(0, 2); le(UInt64(method), 2); le(0, 8)
        le(0xFFFF_FFFF, 4); le(0xFFFF_FFFF, 4); le(UInt64(name.count), 2); le(20, 2); le(0, 2); le(0, 2); le(0, 2); le(0, 4); le(0, 4)
        out += name
        le(0x0001, 2); le(16, 2); le(size, 8); le(compressed, 8)
        let centralSize = out.count - central
        le(0x0605_4b50, 4); le(0, 4); le(1, 2); le(1, 2); le(UInt64(centralSize), 4); le(UInt64(central), 4); le(0, 2)
        return try file("entry.zip", out)
    }

    func testZipSizesFromAStranger() throws {
        // A ZIP64 size past Int.max became negative; the reader sliced with it.
        let negative = try zip64(method: 0, size: .max, compressed: .max, payload: [1, 2, 3])
        XCTAssertThrowsError(try ZipArchive(url: negative)) { assertOneLine($0, naming: [negative.path, "64-bit value past Int.max"]) }
        // start + size overflowed.
        let past = try zip64(method: 0, size: 0x7FFF_FFFF_FFFF_FFF0, compressed: 0x7FFF_FFFF_FFFF_FFF0, payload: [1, 2, 3])
        XCTAssertThrowsError(try ZipArchive(url: past).contents(of: "e")) { assertOneLine($0, naming: [past.path, "runs past the end"]) }
        // A 3-byte deflated entry claiming a terabyte was allocated before inflating.
        let huge = try zip64(method: 8, size: 1 << 40, compressed: 3, payload: [0x03, 0x00, 0x00])
        XCTAssertThrowsError(try ZipArchive(url: huge).contents(of: "e")) { assertOneLine($0, naming: [huge.path, "more than deflate yields"]) }
        // The same fields, honest, still read: a stored 3-byte entry.
        let honest = try zip64(method: 0, size: 3, compressed: 3, payload: [7, 8, 9])
        XCTAssertEqual(try ZipArchive(url: honest).contents(of: "e"), [7, 8, 9])
    }

    /// CR LF line ends: Swift reads "\r\n" as one Character, so splitting the String at "\n" gave one line.
    func testCRLFVocabularyHasOneTokenPerLine() throws {
        let url = try file("vocab.txt", Array("[PAD]\r\n[UNK]\r\nhello\r\nworld\r\n".utf8))
        let vocabulary = try Vocabulary(vocabFile: url)
        XCTAssertEqual(vocabulary.tokens, ["[PAD]", "[UNK]", "hello", "world"])
    }
}
