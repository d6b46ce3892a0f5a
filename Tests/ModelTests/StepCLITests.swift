// 03-mosaic-model and 05-embed tried the way a careless user would: outputs that exist, are directories, are
// the input, or land on a full disk; CRLF files; empty inputs; a mistyped model path. Nothing the user had may
// be lost, every failure is one line without Foundation's `Error Domain=…`, and the exit status tells the truth.
import Foundation
import XCTest
@testable import LodestoneCore

final class StepCLITests: XCTestCase {
    var root: URL!
    override func setUpWithError() throws { root = try temporaryDirectory("steps") }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    func write(_ text: String, _ name: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func assertOneLineFailure(_ r: StepResult, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(r.status, 0, r.output, file: file, line: line)
        XCTAssertFalse(r.output.contains("Error Domain"), r.output, file: file, line: line)
        for w in words { XCTAssertTrue(r.output.contains(w), "expected '\(w)' in: \(r.output)", file: file, line: line) }
    }

    func encode(_ input: URL, _ output: String) throws -> StepResult {
        try runStep("05-embed", ["--model", mosaicTiny.path, "--input", input.path, "--output", output, "--threads", "1"])
    }

    // MARK: 05-embed outputs (defect 1)

    func testExistingOutputIsReplacedWhole() throws {
        let input = try write("first text\nsecond text\n", "texts.txt")
        let output = root.appendingPathComponent("out.npy")
        try Data("old".utf8).write(to: output)
        let r = try encode(input, output.path)
        XCTAssertEqual(r.status, 0, r.output)
        let npy = try Data(contentsOf: output)
        XCTAssertEqual(Array(npy.prefix(6)), [0x93] + Array("NUMPY".utf8))
        XCTAssertTrue(String(decoding: npy.prefix(128), as: UTF8.self).contains("'shape': (2, "))
        let jsonl = root.appendingPathComponent("out.jsonl")
        try Data("old\n".utf8).write(to: jsonl)
        XCTAssertEqual(try encode(input, jsonl.path).status, 0)
        XCTAssertEqual(try String(contentsOf: jsonl, encoding: .utf8).split(separator: "\n").count, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }, [],
                       "no temporaries left behind")
    }

    func testDirectoryOutputIsRefusedAndKept() throws {
        let input = try write("a text\n", "texts.txt")
        let dir = root.appendingPathComponent("results.npy")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: dir.appendingPathComponent("keep.txt"))
        let r = try encode(input, dir.path)
        assertOneLineFailure(r, mentioning: [dir.path, "is a directory"])
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("keep.txt"), encoding: .utf8), "precious")
    }

    func testOutputThatIsTheInputIsRefused() throws {
        let input = try write(#"{"text": "one"}"# + "\n", "same.jsonl")
        let r = try encode(input, input.path)
        assertOneLineFailure(r, mentioning: ["input"])
        XCTAssertEqual(try String(contentsOf: input, encoding: .utf8), #"{"text": "one"}"# + "\n")
    }

    func testUnknownOutputFormatAndEmptyInputFail() throws {
        let input = try write("a text\n", "texts.txt")
        assertOneLineFailure(try encode(input, root.appendingPathComponent("o.csv").path), mentioning: ["o.csv", ".npy or .jsonl"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("o.csv").path))
        let empty = try write("", "empty.txt")
        assertOneLineFailure(try encode(empty, root.appendingPathComponent("e.npy").path), mentioning: ["empty.txt", "no texts"])
        let corpus = try write("", "corpus.txt")
        assertOneLineFailure(try runStep("05-embed", ["search", "--model", mosaicTiny.path, "--corpus", corpus.path, "--query", "x"]),
                             mentioning: ["corpus.txt", "no texts"])
    }

    func testOutputUnderAFileIsOneLine() throws {
        let input = try write("a text\n", "texts.txt")
        let blocker = try write("a file", "blocker")
        let r = try encode(input, blocker.path + "/out.npy")
        assertOneLineFailure(r, mentioning: [blocker.path, "not a directory"])
    }

    func testMissingModelDirectorySaysSo() throws {
        let input = try write("a text\n", "texts.txt")
        let r = try runStep("05-embed", ["--model", root.appendingPathComponent("no-such-model").path,
                                         "--input", input.path, "--output", root.appendingPathComponent("o.npy").path])
        assertOneLineFailure(r, mentioning: ["no-such-model", "no such model directory"])
        XCTAssertFalse(r.output.contains("field '-'"), r.output)
    }

    func testUnknownPromptNameIsOneLine() throws {
        let input = try write("a text\n", "texts.txt")
        let r = try runStep("05-embed", ["--model", mosaicTiny.path, "--input", input.path, "--output",
                                         root.appendingPathComponent("o.npy").path, "--prompt-name", "query"])
        assertOneLineFailure(r, mentioning: ["no prompt named 'query'"])
    }

    // MARK: CRLF inputs (defect 4)

    func testCRLFTextsAndPairsReadLineByLine() throws {
        let txt = try write("first line\r\nsecond line\r\nthird\r\n", "crlf.txt")
        XCTAssertEqual(try TextFiles.readTexts(txt.path), ["first line", "second line", "third"])
        let jsonl = try write("{\"text\": \"a\"}\r\n{\"text\": \"b\"}\r\n", "crlf.jsonl")
        XCTAssertEqual(try TextFiles.readTexts(jsonl.path), ["a", "b"])
        let pairs = try write("{\"anchor\": \"q1\", \"positive\": \"p1\"}\r\n[\"q2\", \"p2\"]\r\n", "pairs.jsonl")
        let read = try TextFiles.readPairs(pairs.path)
        XCTAssertEqual(read.map(\.0), ["q1", "q2"]); XCTAssertEqual(read.map(\.1), ["p1", "p2"])
        let r = try encode(txt, root.appendingPathComponent("crlf.npy").path)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("embedded 3 texts"), r.output)
    }

    func testBadJSONLineNamesFileLineAndField() throws {
        let jsonl = try write("{\"text\": \"a\"}\n{\"txt\": \"b\"}\n", "bad.jsonl")
        XCTAssertThrowsError(try TextFiles.readTexts(jsonl.path)) { XCTAssertEqual("\($0)", "\(jsonl.path):2: field 'text': missing or not a string") }
    }

    // MARK: 03-mosaic-model outputs (defects 2, 11)

    func prepare(_ output: URL, _ extra: [String] = []) throws -> StepResult {
        try runStep("03-mosaic-model", ["--init-random", mosaicTiny.appendingPathComponent("config.json").path,
                                        "--tokenizer", mosaicTiny.path, "--max-seq-length", "64",
                                        "--alibi-starting-size", "64", "--output", output.path] + extra)
    }

    func testPrepareRefusesToReplaceWhatIsNotAModel() throws {
        let models = root.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models.appendingPathComponent("mine"), withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: models.appendingPathComponent("mine/notes.txt"))
        for extra in [[], ["--force"]] {
            assertOneLineFailure(try prepare(models, extra), mentioning: [models.path, "not a model directory"])
            XCTAssertEqual(try String(contentsOf: models.appendingPathComponent("mine/notes.txt"), encoding: .utf8), "mine")
        }
        let file = try write("a file", "model-file")
        assertOneLineFailure(try prepare(file, ["--force"]), mentioning: [file.path])
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "a file")
    }

    /// 03's output may not be its own input in disguise (issue 16, defect 1): inside, equal to or holding --from.
    func testPrepareRefusesAnOutputThatIsItsInput() throws {
        let first = root.appendingPathComponent("first")
        XCTAssertEqual(try prepare(first).status, 0)
        let before = try FileManager.default.contentsOfDirectory(atPath: first.path).sorted()
        let weights = try Data(contentsOf: first.appendingPathComponent("model.safetensors"))
        for (output, words) in [(first.path + "/again", "is inside --from"), (first.path + "/../first", "is --from"),
                                (root.path, "holds --from")] {
            let r = try runStep("03-mosaic-model", ["--from", first.path, "--tokenizer", first.path, "--max-seq-length", "64",
                                                    "--output", output, "--force"])
            assertOneLineFailure(r, mentioning: [words, first.path])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: first.path).sorted(), before)
        XCTAssertEqual(try Data(contentsOf: first.appendingPathComponent("model.safetensors")), weights)
    }

    func testPrepareWritesVerifiesAndRebuildsItsOwnOutput() throws {
        let out = root.appendingPathComponent("model")
        let first = try prepare(out)
        XCTAssertEqual(first.status, 0, first.output)
        let again = try prepare(out)
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.output.contains("verifying"), again.output)
        let forced = try prepare(out, ["--force"])
        XCTAssertEqual(forced.status, 0, forced.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["model"])
    }

    func testStagingLeftByAKilledRunIsRemoved() throws {
        let out = root.appendingPathComponent("model")
        let dead = try deadProcessID()
        let staging = root.appendingPathComponent(".model.\(dead).12345.partial")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        try Data(count: 1000).write(to: staging.appendingPathComponent("model.safetensors"))
        let r = try prepare(out)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["model"])
    }

    func testAKillBetweenTheTwoRenamesLosesNoModel() throws {
        let out = root.appendingPathComponent("model")
        XCTAssertEqual(try prepare(out).status, 0)
        // What a kill between "move the old model aside" and "move the new one in" leaves behind.
        let aside = root.appendingPathComponent(".model.\(try deadProcessID()).77.previous")
        try FileManager.default.moveItem(at: out, to: aside)
        let r = try prepare(out)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("verifying"), "the set-aside model is put back, not rebuilt: \(r.output)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["model"])
    }

    // MARK: full disk (defects 5, 13)

    func testFullDiskIsOneLineAndKeepsThePreviousFiles() throws {
        let disk = try mountSmallDisk(kilobytes: 64); defer { unmount(disk) }
        let r = try prepare(disk.appendingPathComponent("model"))
        assertOneLineFailure(r, mentioning: ["no space left on device"])
        XCTAssertFalse(r.output.contains("cannot read safetensors"), r.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk.path), [], "nothing partial left")

        let input = try write(String(repeating: "some words to embed\n", count: 400), "many.txt")
        let output = disk.appendingPathComponent("out.jsonl")
        try Data("previous".utf8).write(to: output)
        let e = try encode(input, output.path)
        assertOneLineFailure(e, mentioning: [output.path, "no space left on device"])
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), "previous")
    }
}
