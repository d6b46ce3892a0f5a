// 05-embed's outputs that are inputs in disguise (issue 16, defects 1 and 2): a file of the BEIR directory or of
// the model directory, however it is spelled, and device nodes. Each used to be overwritten or replaced, rc 0.
import Foundation
import XCTest
@testable import LodestoneCore

final class OutputsInDisguiseCLITests: XCTestCase {
    var root: URL!
    var beir: URL!
    var model: URL!

    override func setUpWithError() throws {
        root = try temporaryDirectory("disguise")
        beir = root.appendingPathComponent("b")
        try FileManager.default.createDirectory(at: beir.appendingPathComponent("qrels"), withIntermediateDirectories: true)
        try Data((0..<4).map { #"{"_id": "d\#($0)", "title": "", "text": "document number \#($0) about magnets"}"# + "\n" }.joined().utf8)
            .write(to: beir.appendingPathComponent("corpus.jsonl"))
        try Data(#"{"_id": "q0", "text": "magnets"}"#.utf8 + Data("\n".utf8)).write(to: beir.appendingPathComponent("queries.jsonl"))
        try Data("query-id\tcorpus-id\tscore\nq0\td1\t1\n".utf8).write(to: beir.appendingPathComponent("qrels/test.tsv"))
        // A copy of the fixture: a test that fails on a defect must not damage the shared one.
        model = root.appendingPathComponent("m")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: mosaicTiny.path) where name != "pytorch_model.bin" {
            try FileManager.default.copyItem(at: mosaicTiny.appendingPathComponent(name), to: model.appendingPathComponent(name))
        }
    }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    /// Every file of `dir`, by relative path, with its bytes.
    func snapshot(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for entry in FileManager.default.subpaths(atPath: dir.path) ?? [] {
            let url = dir.appendingPathComponent(entry)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue { out[entry] = try Data(contentsOf: url) }
        }
        return out
    }

    func assertRefused(_ args: [String], naming words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let before = (try snapshot(beir), try snapshot(model))
        let r = try runStep("05-embed", args + ["--model", model.path, "--threads", "1"], testCase: Self.self)
        XCTAssertEqual(r.status, 1, r.output, file: file, line: line)
        let errors = r.output.split(separator: "\n").filter { $0.contains("error:") }
        XCTAssertEqual(errors.count, 1, r.output, file: file, line: line)
        for w in words { XCTAssertTrue(errors.first?.contains(w) ?? false, "expected '\(w)' in: \(r.output)", file: file, line: line) }
        XCTAssertEqual(try snapshot(beir), before.0, "the BEIR directory is untouched", file: file, line: line)
        XCTAssertEqual(try snapshot(model), before.1, "the model directory is untouched", file: file, line: line)
    }

    func testEvaluateJSONInsideTheDataOrModelDirectoryIsRefused() throws {
        let evaluate = ["evaluate", "--data", beir.path, "--json"]
        for target in ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"] {
            try assertRefused(evaluate + [beir.appendingPathComponent(target).path], naming: [target, "--data " + beir.path])
        }
        try assertRefused(evaluate + [beir.path + "/../b/corpus.jsonl"], naming: ["--data"])
        try assertRefused(evaluate + [model.appendingPathComponent("config.json").path], naming: ["--model " + model.path])
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("scores.json"),
                                                   withDestinationURL: beir.appendingPathComponent("queries.jsonl"))
        try assertRefused(evaluate + [root.appendingPathComponent("scores.json").path], naming: ["--data"])
        let ok = try runStep("05-embed", evaluate + [root.appendingPathComponent("ok.json").path, "--model", model.path, "--threads", "1"],
                             testCase: Self.self)
        XCTAssertEqual(ok.status, 0, ok.output)
    }

    func testSearchAndEncodeOutputsInsideTheModelAreRefused() throws {
        let texts = root.appendingPathComponent("texts.txt")
        try Data("one text\nanother text\n".utf8).write(to: texts)
        try assertRefused(["search", "--corpus", texts.path, "--query", "x", "--output", model.appendingPathComponent("config.json").path],
                          naming: ["config.json", "--model"])
        try assertRefused(["--input", texts.path, "--output", model.appendingPathComponent("vocab.jsonl").path], naming: ["--model"])
    }

    /// A character device is written through and stays a device; /dev/full's "no space left" is the error.
    func testDeviceOutputsAreWrittenThroughNeverReplaced() throws {
        let texts = root.appendingPathComponent("texts.txt")
        try Data("one text\nanother text\n".utf8).write(to: texts)
        func node(_ name: String, minor: Int) throws -> String {
            let path = root.appendingPathComponent(name).path
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/mknod")
            p.arguments = [path, "c", "1", String(minor)]
            try p.run(); p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw XCTSkip("cannot mknod here (needs root)") }
            return path
        }
        func isDevice(_ path: String) -> Bool { var st = stat(); return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR }
        let null = try node("null.npy", minor: 3)
        let encoded = try runStep("05-embed", ["--input", texts.path, "--output", null, "--model", model.path, "--threads", "1"], testCase: Self.self)
        XCTAssertEqual(encoded.status, 0, encoded.output)
        XCTAssertTrue(isDevice(null), "null.npy is still a character device")
        let full = try node("full.json", minor: 7)
        let evaluated = try runStep("05-embed", ["evaluate", "--data", beir.path, "--json", full, "--model", model.path, "--threads", "1"],
                                    testCase: Self.self)
        XCTAssertEqual(evaluated.status, 1, evaluated.output)
        XCTAssertTrue(evaluated.output.contains("\(full): cannot write: no space left on device"), evaluated.output)
        XCTAssertTrue(isDevice(full), "full.json is still a character device")
        let searched = try runStep("05-embed", ["search", "--corpus", texts.path, "--query", "x", "--output", full,
                                                "--model", model.path, "--threads", "1"], testCase: Self.self)
        XCTAssertEqual(searched.status, 1, searched.output)
        XCTAssertTrue(isDevice(full))
    }
}
