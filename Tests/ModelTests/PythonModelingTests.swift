// MosaicBERT directories carry their own Python modules, named by config.json's auto_map, so that
// `SentenceTransformer(dir, trust_remote_code=True)` loads them (Scripts/check-python.sh checks the numbers
// with torch); classic BERT directories carry none. No Python is needed here, except for an optional
// syntax check of the modules when python3 is on the PATH.
import Foundation
import XCTest
@testable import LodestoneCore

final class PythonModelingTests: XCTestCase {
    var root: URL!
    override func setUpWithError() throws { root = try temporaryDirectory("python-modeling") }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    var tokenizer: WordPieceTokenizer { get throws { try WordPieceTokenizer(directory: mosaicTiny) } }

    func writeDirectory(_ config: EncoderConfig, _ name: String) throws -> URL {
        let out = root.appendingPathComponent(name)
        let weights = SentenceEncoder(config: config, randomSeed: 1).namedWeights()
        try SentenceTransformerDirectory(config: config, weights: weights, tokenizer: try tokenizer, maxSeqLength: 64)
            .write(to: out)
        return out
    }

    func configJSON(_ directory: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as! [String: Any]
    }

    func pythonFiles(_ directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".py") }.sorted()
    }

    /// Every auto_map entry "module.Class" names a module written beside config.json that defines Class.
    func assertAutoMapResolves(_ directory: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let autoMap = try XCTUnwrap(try configJSON(directory)["auto_map"] as? [String: String], file: file, line: line)
        XCTAssertEqual(autoMap, PythonModeling.autoMap, file: file, line: line)
        XCTAssertEqual(Set(autoMap.keys), ["AutoConfig", "AutoModel"], file: file, line: line)
        for entry in autoMap.values {
            let parts = entry.split(separator: ".").map(String.init)
            XCTAssertEqual(parts.count, 2, entry, file: file, line: line)
            let source = try String(contentsOf: directory.appendingPathComponent(parts[0] + ".py"), encoding: .utf8)
            XCTAssertTrue(source.contains("\nclass \(parts[1])("), "\(parts[0]).py defines \(parts[1])", file: file, line: line)
        }
    }

    func testMosaicDirectoryCarriesItsPythonModulesAndReadsBack() throws {
        let config = EncoderConfig(mosaic: true, hidden: 8, layers: 1, heads: 2, intermediate: 16, alibiStartingSize: 32)
        let out = try writeDirectory(config, "mosaic")
        XCTAssertEqual(try pythonFiles(out), ["configuration_mosaic_bert.py", "modeling_mosaic_bert.py"])
        for file in PythonModeling.files {
            XCTAssertEqual(try String(contentsOf: out.appendingPathComponent(file.name), encoding: .utf8), file.source)
            XCTAssertTrue(file.source.hasSuffix("\n"), file.name)
        }
        try assertAutoMapResolves(out)

        let back = try SentenceTransformerDirectory.read(out)
        XCTAssertTrue(back.config.isMosaic)
        XCTAssertEqual(back.config.alibiStartingSize, 32)
        let model = try SentenceModel.load(out)
        XCTAssertEqual(try model.embed(["a short text"]).first?.count, 8)
    }

    func testClassicBertDirectoryHasNoPythonModules() throws {
        let config = EncoderConfig(mosaic: false, hidden: 8, layers: 1, heads: 2, intermediate: 16)
        let out = try writeDirectory(config, "bert")
        XCTAssertEqual(try pythonFiles(out), [], "stock transformers loads classic BERT")
        XCTAssertNil(try configJSON(out)["auto_map"])
        XCTAssertFalse(try SentenceTransformerDirectory.read(out).config.isMosaic)
    }

    /// A base model that 04 exports (its config.json from an older 03, or upstream's) still names upstream's
    /// modules, which are not there: the written directory names ours, and still reads as MosaicBERT although
    /// the config had only the auto_map to say so.
    func testUpstreamAutoMapIsReplacedOnWrite() throws {
        var raw = EncoderConfig(mosaic: false, hidden: 8, layers: 1, heads: 2, intermediate: 16).raw
        raw["auto_map"] = ["AutoConfig": "configuration_bert.BertConfig", "AutoModel": "bert_layers.BertModel",
                           "AutoModelForMaskedLM": "bert_layers.BertForMaskedLM"]
        let config = try EncoderConfig(json: raw)
        XCTAssertTrue(config.isMosaic)
        let out = try writeDirectory(config, "exported")
        try assertAutoMapResolves(out)
        XCTAssertEqual(try configJSON(out)["alibi_starting_size"] as? Int, 512)
        XCTAssertTrue(try SentenceTransformerDirectory.read(out).config.isMosaic)
    }

    func testConfigEditsPointAutoMapAtOurModules() throws {
        let raw = try configJSON(mosaicTiny)
        let (edited, changes) = lodestoneConfigEdits(raw, alibiStartingSize: 4096)
        XCTAssertEqual(edited["auto_map"] as? [String: String], PythonModeling.autoMap)
        XCTAssertEqual(edited["architectures"] as? [String], [PythonModeling.architecture])
        let diff = changes.map(\.description)
        XCTAssertTrue(diff.contains(#"  auto_map: {"AutoConfig":"configuration_bert.BertConfig","AutoModelForMaskedLM":"bert_layers.BertForMaskedLM"} → {"AutoConfig":"configuration_mosaic_bert.MosaicBertConfig","AutoModel":"modeling_mosaic_bert.MosaicBertModel"}"#), "\(diff)")
        XCTAssertTrue(diff.contains(#"  architectures: ["BertForMaskedLM"] → ["MosaicBertModel"]"#), "\(diff)")
    }

    /// 03 prints the new auto_map in its diff and writes the modules; 05 and 04 load the directory, and 04's
    /// exported model carries the modules too.
    func testStepsWriteAndLoadDirectoriesWithPythonModules() throws {
        let initial = root.appendingPathComponent("init")
        let prepared = try runStep("03-mosaic-model", [
            "--init-random", mosaicTiny.appendingPathComponent("config.json").path, "--tokenizer", mosaicTiny.path,
            "--max-seq-length", "64", "--alibi-starting-size", "64", "--output", initial.path], testCase: Self.self)
        XCTAssertEqual(prepared.status, 0, prepared.output)
        XCTAssertTrue(prepared.output.contains(#"→ {"AutoConfig":"configuration_mosaic_bert.MosaicBertConfig","AutoModel":"modeling_mosaic_bert.MosaicBertModel"}"#), prepared.output)
        try assertAutoMapResolves(initial)

        let texts = root.appendingPathComponent("texts.txt")
        try Data("first text\nsecond text\n".utf8).write(to: texts)
        let embedded = try runStep("05-embed", ["encode", "--model", initial.path, "--input", texts.path,
                                                "--output", root.appendingPathComponent("out.npy").path, "--threads", "1"],
                                   testCase: Self.self)
        XCTAssertEqual(embedded.status, 0, embedded.output)

        let store = try LocalStore(root: root.appendingPathComponent("store"))
        try store.writeGzipLines(key: "data/pairs.json.gz", (0..<16).map { #"["question \#($0)", "reply \#($0)"]"# })
        let records = root.appendingPathComponent("records.json")
        try DataRecords.write(["pairs.json.gz": 16], file: records, store: store)
        let train = root.appendingPathComponent("train")
        let trained = try runStep("04-training", [
            "--store", store.root.path, "--records", records.path, "--model", initial.path, "--output", train.path,
            "--cycles", "1", "--chunks", "1", "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "4",
            "--max-seq-length", "10", "--warmup-steps", "0", "--threads", "1"], testCase: Self.self)
        XCTAssertEqual(trained.status, 0, trained.output)
        let exported = train.appendingPathComponent("model")
        XCTAssertEqual(try pythonFiles(exported), ["configuration_mosaic_bert.py", "modeling_mosaic_bert.py"])
        try assertAutoMapResolves(exported)
    }

    /// The modules are Python that parses (only where python3 is installed; CI needs none).
    func testModulesAreValidPython() throws {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("no python3 to parse the modules with")
        }
        for file in PythonModeling.files {
            let url = root.appendingPathComponent(file.name)
            try Data(file.source.utf8).write(to: url)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = ["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])", url.path]
            try p.run(); p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "\(file.name) does not parse")
        }
    }
}
