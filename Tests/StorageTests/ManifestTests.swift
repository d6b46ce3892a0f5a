import Foundation
import XCTest
@testable import LodestoneStorage
@testable import LodestoneData
import LodestoneBase

final class ManifestTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory("manifest") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    let header = "Name\tDescription\tSize (#Pairs)\tPerformance\tDownload link\tSource\n"

    func load(_ text: String, file: String = "GoogleSheets_datasets.tsv") throws -> Manifests {
        try Data(text.utf8).write(to: dir.appendingPathComponent(file))
        return try Manifests.load(directory: dir)
    }

    func assertManifestError(_ text: String, line: Int, column: String?, contains: String,
                             file: StaticString = #filePath, testLine: UInt = #line) {
        XCTAssertThrowsError(try load(text), file: file, line: testLine) { error in
            guard let e = error as? InputError else { return XCTFail("not an InputError: \(error)", file: file, line: testLine) }
            XCTAssertEqual(e.line, line, "\(e)", file: file, line: testLine)
            XCTAssertEqual(e.field, column, "\(e)", file: file, line: testLine)
            XCTAssertTrue(e.description.contains(contains) && e.description.contains("GoogleSheets_datasets.tsv"), "\(e)", file: file, line: testLine)
        }
    }

    func testQuotedFieldsSpanTabsAndNewlines() throws {
        let m = try load(header
            + "AllNLI\t\"SNLI + MultiNLI\nTriplets:\t(a, \"\"b\"\", c)\"\t277,230\t56.57\thttps://example.org/AllNLI.jsonl.gz\t\"https://a\nhttps://b\"\n"
            + "\n"
            + "local\t{\"texts\": [1]}\t1,000\t\tfiles/x.jsonl.gz\n"
            + "nolink\tno link yet\t5\t\t\t\n")
        XCTAssertEqual(m.datasets.map(\.name), ["AllNLI", "local", "nolink"])
        XCTAssertEqual(m.datasets[0].description, "SNLI + MultiNLI\nTriplets:\t(a, \"b\", c)")
        XCTAssertEqual(m.datasets[0].pairs, 277_230)
        XCTAssertEqual(m.datasets[0].source, .http("https://example.org/AllNLI.jsonl.gz"))
        XCTAssertEqual(m.datasets[1].line, 6)  // AllNLI spans lines 2-4, line 5 is blank
        XCTAssertEqual(m.datasets[1].description, "{\"texts\": [1]}")
        XCTAssertEqual(m.datasets[1].source, .file(dir.appendingPathComponent("files/x.jsonl.gz").standardizedFileURL.path))
        XCTAssertNil(m.datasets[2].source)
        let plan = try IngestPlanner.plan(m, hub: HubClient(endpoint: "http://127.0.0.1:9"))
        XCTAssertEqual(plan.transfers.map(\.key), ["data/AllNLI.json.gz", "data/local.json.gz"])
        XCTAssertEqual(plan.skipped.map(\.name), ["nolink"])
    }

    func testBadManifestsNameFileLineAndColumn() {
        assertManifestError("Name\tDescription\tSize (#Pairs)\tPerformance\tSource\n", line: 1, column: "Download link", contains: "missing column")
        assertManifestError(header + "a\td\t1\t\tftp://x/y\t\n", line: 2, column: "Download link", contains: "unsupported scheme")
        assertManifestError(header + "a\td\t1\t\thttps://x/a\t\nb\td\t1\t\thttps://x/b\t\na\td\t1\t\thttps://x/c\t\n",
                            line: 4, column: "Name", contains: "duplicate Name 'a'")
        // An unterminated quote is reported on the line where it opened, with its column's name.
        assertManifestError(header + "a\td\t1\t\thttps://x/a\t\nb\t\"never closed\t1\t\thttps://x/b\t\nc\td\t1\t\thttps://x/c\t\n",
                            line: 3, column: "Description", contains: "unterminated quote")
        assertManifestError(header + "a\t\"closed\"x\t1\t\thttps://x/a\t\n", line: 2, column: "Description",
                            contains: "unexpected character after closing quote")
        assertManifestError(header + "a\td\tmany\t\thttps://x/a\t\n", line: 2, column: "Size (#Pairs)", contains: "not a number")
        assertManifestError(header + "../up\td\t1\t\thttps://x/a\t\n", line: 2, column: "Name", contains: "not a plain name")
        assertManifestError(header + "a\td\t1\t\thttps://x/a\t\tsurplus\n", line: 2, column: nil, contains: "expected 6 fields, saw 7")
    }

    /// A missing or empty manifests directory says what is wrong with the directory, not "line 0, column -".
    func testMissingOrEmptyManifestsDirectory() throws {
        let missing = dir.appendingPathComponent("nonexist")
        XCTAssertThrowsError(try Manifests.load(directory: missing)) { error in
            XCTAssertEqual("\(error)", "\(missing.path): manifests directory does not exist (expected one holding "
                           + "GoogleSheets_datasets.tsv, HuggingFace_datasets.tsv, HuggingFace_repos.tsv)")
        }
        XCTAssertThrowsError(try Manifests.load(directory: dir)) { error in
            XCTAssertEqual("\(error)", "\(dir.path): holds none of the manifests "
                           + "GoogleSheets_datasets.tsv, HuggingFace_datasets.tsv, HuggingFace_repos.tsv")
        }
    }

    /// `--only` with a name that matches nothing names it and what could be matched (not "bad store URL").
    func testOnlyWithUnknownNameSaysWhatItCanMatch() throws {
        let m = try load(header + "AllNLI\td\t1\t\thttps://x/a\t\n")
        XCTAssertThrowsError(try IngestPlanner.plan(m, hub: HubClient(endpoint: "http://127.0.0.1:9"), only: ["NoSuchName"])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("--only NoSuchName: no manifest row, repo or repo file matches this name"), text)
            XCTAssertTrue(text.contains("(AllNLI)"), text)
            XCTAssertFalse(text.contains("store URL"), text)
        }
    }

    func testRepoManifest() throws {
        let m = try load("Repo\tRevision\tExclude\tFolder\nowner/one\t\tserverfault, security\t\nowner/two\tv1\t\tcustom\n",
                         file: "HuggingFace_repos.tsv")
        XCTAssertEqual(m.repos.map(\.folder), ["one", "custom"])
        XCTAssertEqual(m.repos[0].revision, "main")
        XCTAssertEqual(m.repos[0].exclude, ["serverfault", "security"])
        XCTAssertFalse(IngestPlanner.keeps("security.stackexchange.com.jsonl.gz", exclude: m.repos[0].exclude))
        XCTAssertTrue(IngestPlanner.keeps("securityx.stackexchange.com.jsonl.gz", exclude: m.repos[0].exclude))
        XCTAssertFalse(IngestPlanner.keeps("README.md", exclude: []))
        XCTAssertEqual(IngestPlanner.key(folder: "one", path: "a.b.jsonl.gz"), "data/one/a.b.json.gz")
    }

    /// The project's own manifests: the original's datasets, link-less rows kept and skipped.
    func testShippedManifests() throws {
        let m = try Manifests.load(directory: packageRoot.appendingPathComponent("data"))
        XCTAssertEqual(m.files.count, 3)
        XCTAssertEqual(m.datasets.count, 28 + 8 + 9)
        XCTAssertEqual(m.datasets.filter { $0.source == nil }.map(\.name).sorted(),
                       ["S2ORC_title_abstract", "reddit_2015", "reddit_2016", "reddit_2017", "reddit_2018",
                        "searchQA_question_top5_snippets_merged", "searchQA_question_topSnippet", "wikihow"])
        XCTAssertTrue(m.datasets.first { $0.name == "AllNLI" }!.description.contains("\n"))
        XCTAssertEqual(m.datasets.first { $0.name == "WikiAnswers_pairs" }?.pairs, 77_427_422)
        XCTAssertEqual(m.repos.count, 5)
        XCTAssertEqual(m.repos.first { $0.folder == "stackexchange_title_best_voted_answer_jsonl" }?.exclude,
                       ["elementaryos", "monero", "security"])
    }
}

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        var h = SHA256()
        XCTAssertEqual(h.finalizeHex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        h = SHA256(); h.update(Array("abc".utf8))
        XCTAssertEqual(h.finalizeHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        h = SHA256(); h.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        XCTAssertEqual(h.finalizeHex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // One million 'a', fed in uneven pieces.
        h = SHA256()
        var left = 1_000_000, step = 1
        while left > 0 { let n = min(step, left); h.update([UInt8](repeating: 0x61, count: n)); left -= n; step = step * 3 % 9973 + 1 }
        XCTAssertEqual(h.finalizeHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
