import Foundation
import XCTest
@testable import LodestoneCore

final class GzipLineReaderTests: XCTestCase {
    func testLinesOfSystemGzip() throws {
        let text = "alpha\nbeta\r\n\ngamma with ünïcode\nlast line without newline"
        let lines = try readAllLines(try systemGzip(Data(text.utf8)))
        XCTAssertEqual(lines, ["alpha", "beta", "", "gamma with ünïcode", "last line without newline"])
    }

    func testSmallWindowAndTinyReadsSlideAndGrow() throws {
        // Lines longer than the 64-byte window force growth; 3-byte reads force many inflate refills.
        var expected: [String] = []
        for i in 0..<500 { expected.append(String(repeating: "x", count: i % 150) + "#\(i)") }
        let gz = try systemGzip(Data((expected.joined(separator: "\n") + "\n").utf8))
        XCTAssertEqual(try readAllLines(gz, window: 64, chunk: 3), expected)
    }

    func testLongLineOfSeveralMegabytes() throws {
        let long = String(repeating: "abcdefghij", count: 300_000)   // 3 MB, beyond the 1 MiB window
        let lines = try readAllLines(try systemGzip(Data("short\n\(long)\nend\n".utf8)))
        XCTAssertEqual(lines.map(\.count), [5, 3_000_000, 3])
    }

    func testLineLongerThanTheLimitIsAnError() throws {
        let gz = try systemGzip(Data((String(repeating: "y", count: 5000) + "\n").utf8))
        let reader = try GzipLineReader(MemoryReader(gz), name: "k.json.gz", windowSize: 64, maxLineLength: 1024)
        XCTAssertThrowsError(try reader.nextLine()) { error in
            XCTAssertEqual(error as? InputError, InputError(file: "k.json.gz", line: 1, reason: "line is longer than 1024 bytes"))
        }
    }

    func testConcatenatedMembersAreReadToTheEnd() throws {
        let a = try systemGzip(Data("one\ntwo\n".utf8))
        let b = try systemGzip(Data("three\n".utf8))
        let empty = try systemGzip(Data())
        let c = try systemGzip(Data("four\nfive".utf8))
        // Reads of 1, 3 and 7 bytes put member boundaries anywhere in an input chunk.
        for chunk in [1, 3, 7, 1 << 16] {
            XCTAssertEqual(try readAllLines(a + b + empty + c, chunk: chunk), ["one", "two", "three", "four", "five"])
        }
        // 200 members (some empty) from GzipWriter, whose output system gzip reads (see the writer test).
        let sink = MemoryWriter()
        let writer = try GzipWriter(sink)
        var expected: [String] = []
        for i in 0..<200 {
            let lines = (0..<(i % 7)).map { "member \(i) line \($0) " + String(repeating: "z", count: i) }
            expected += lines
            for line in lines { try writer.writeLine(line) }
            try writer.finishMember()
        }
        XCTAssertEqual(try readAllLines(sink.data, chunk: 5), expected)
    }

    func testEmptyObjectAndEmptyGzip() throws {
        XCTAssertEqual(try readAllLines(Data()), [])
        XCTAssertEqual(try readAllLines(try systemGzip(Data())), [])
    }

    func testTruncatedGzipNamesKeyAndOffset() throws {
        var text = ""
        for i in 0..<20_000 { text += "[\"line \(i)\", \"text \(i * 7)\"]\n" }
        let gz = try systemGzip(Data(text.utf8))
        for cut in [gz.count / 3, gz.count - 5, 12] {
            XCTAssertThrowsError(try readAllLines(gz.prefix(cut), name: "data/cut.json.gz")) { error in
                guard case .gzip(let name, let offset, _)? = error as? DataError else {
                    return XCTFail("expected a gzip error, got \(error)")
                }
                XCTAssertEqual(name, "data/cut.json.gz")
                XCTAssertLessThanOrEqual(offset, Int64(cut))
                XCTAssertTrue(String(describing: error).hasPrefix("data/cut.json.gz: corrupt gzip at compressed byte "))
            }
        }
    }

    func testBitFlippedGzipIsAnErrorNotACrash() throws {
        var text = ""
        for i in 0..<5000 { text += "{\"texts\": [\"q \(i)\", \"a \(i)\"]}\n" }
        let gz = try systemGzip(Data(text.utf8))
        // Flips in the header, the deflate data and the CRC trailer: each must be detected.
        for position in [0, 3, gz.count / 2, gz.count - 6, gz.count - 2] {
            var bad = gz
            bad[position] ^= 0x10
            XCTAssertThrowsError(try readAllLines(bad, name: "flip.json.gz"), "flip at \(position)") { error in
                guard case .gzip(let name, let offset, _)? = error as? DataError else {
                    return XCTFail("flip at \(position): expected a gzip error, got \(error)")
                }
                XCTAssertEqual(name, "flip.json.gz")
                XCTAssertLessThanOrEqual(offset, Int64(gz.count))
            }
        }
    }

    func testTrailingGarbageIsAnError() throws {
        let gz = try systemGzip(Data("a\nb\n".utf8))
        XCTAssertThrowsError(try readAllLines(gz + Data("not gzip".utf8))) { error in
            guard case .gzip(_, let offset, _)? = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertGreaterThanOrEqual(offset, Int64(gz.count))
        }
    }

    func testWriterOutputIsReadBySystemGzipIncludingMembers() throws {
        let sink = MemoryWriter()
        let writer = try GzipWriter(sink)
        try writer.writeLine("first")
        try writer.finishMember()
        try writer.writeLine("second ✓")
        try writer.finish()
        XCTAssertEqual(String(decoding: try systemGunzip(sink.data), as: UTF8.self), "first\nsecond ✓\n")
        // Two members: the gzip magic appears at the start and again after the first member.
        XCTAssertEqual(Array(sink.data.prefix(2)), [0x1F, 0x8B])
        XCTAssertGreaterThan(sink.data.count, 40)
    }

    func testEmptyWriterWritesAValidEmptyGzip() throws {
        let sink = MemoryWriter()
        try GzipWriter(sink).finish()
        XCTAssertEqual(try systemGunzip(sink.data), Data())
    }
}
