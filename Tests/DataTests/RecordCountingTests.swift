import Foundation
import XCTest
@testable import LodestoneCore

/// Corpora in every record format, written by the test with counts known by construction, counted through the
/// same core calls 02-data-records makes (list → plan → parallel count → outcome → write).
enum Corpus {
    /// Writes one gzip JSON-lines object with the system's gzip; returns nothing (the caller knows the count).
    static func put(_ store: ObjectStore, _ key: String, _ lines: [String], crlf: Bool = false, members: Int = 1) throws {
        let eol = crlf ? "\r\n" : "\n"
        var data = Data()
        let per = max(1, (lines.count + members - 1) / members)
        for start in stride(from: 0, to: max(lines.count, 1), by: per) {
            let part = lines[start..<min(start + per, lines.count)]
            data += try systemGzip(Data(part.map { $0 + eol }.joined().utf8))
        }
        try store.putData(key: key, data)
    }

    /// A corpus covering every format; returns the expected counts (key relative to data/).
    static func writeCorpus(_ store: ObjectStore) throws -> [String: Int] {
        var expected: [String: Int] = [:]
        var pairs: [String] = []
        for i in 0..<1000 { pairs.append(json(["anchor \(i)", "positive \(i)"])) }
        try put(store, "data/pairs.json.gz", pairs, members: 3)
        expected["pairs.json.gz"] = 1000

        var triplets: [String] = []
        for i in 0..<700 { triplets.append(json(["a \(i)", "p \(i)", "n \(i)"])) }
        try put(store, "data/triplets.json.gz", triplets, crlf: true)
        expected["triplets.json.gz"] = 700

        var texts: [String] = []
        for i in 0..<300 { texts.append(json(["texts": ["title \(i)", "body \(i)"], "guid": "g\(i)"])) }
        texts.insert("", at: 100); texts.insert("   ", at: 200)                 // blank lines count nothing
        try put(store, "data/stackexchange/site.json.gz", texts)
        expected["stackexchange/site.json.gz"] = 300

        var sets: [String] = []
        for i in 0..<250 { sets.append(json(["set": (0..<(2 + i % 4)).map { "para \(i).\($0)" }])) }
        try put(store, "data/sets.jsonl.gz", sets)
        expected["sets.jsonl.gz"] = 250

        var queryPos: [String] = [], positives = 0
        for i in 0..<400 { let k = i % 5; positives += k; queryPos.append(json(["query": "q\(i)", "pos": (0..<k).map { "p\($0)" }])) }
        try put(store, "data/S2ORC_citations_abstracts.json.gz", queryPos)
        expected["S2ORC_citations_abstracts.json.gz"] = positives   // 400 lines, 0+1+2+3+4 per 5 lines = 800

        var queryPosNeg: [String] = []
        for i in 0..<100 { queryPosNeg.append(json(["query": "q\(i)", "pos": ["a", "b", "c"], "neg": ["n"]])) }
        try put(store, "data/amazon-qa.json.gz", queryPosNeg)
        expected["amazon-qa.json.gz"] = 300

        var titleBody: [String] = []
        for i in 0..<321 { titleBody.append(json(["title": "t\(i)", "body": "b\(i)", "subreddit": "r"])) }
        try put(store, "data/reddit-title-body/reddit_title_text_2011.json.gz", titleBody)
        expected["reddit-title-body/reddit_title_text_2011.json.gz"] = 321

        var contextResponse: [String] = []
        for i in 0..<123 { contextResponse.append(json(["context": "c\(i)", "response": "r\(i)"])) }
        try put(store, "data/reddit_2015.json.gz", contextResponse)
        expected["reddit_2015.json.gz"] = 123

        try store.putData(key: "data/empty.json.gz", Data())                       // a 0-byte object
        expected["empty.json.gz"] = 0
        try put(store, "data/empty-gzip.json.gz", [])
        expected["empty-gzip.json.gz"] = 0

        // Not training data: other suffixes, and the original's exclusion.
        try store.putData(key: "data/notes.txt", Data("x".utf8))
        try put(store, "data/cnn_dailymail_splitted.json.gz", [json(["a", "b"])])
        return expected
    }

}

final class RecordCountingTests: XCTestCase {
    func put(_ store: ObjectStore, _ key: String, _ lines: [String], crlf: Bool = false, members: Int = 1) throws {
        try Corpus.put(store, key, lines, crlf: crlf, members: members)
    }
    func writeCorpus(_ store: ObjectStore) throws -> [String: Int] { try Corpus.writeCorpus(store) }

    struct Run { var outcome: RecordsOutcome; var plan: RecordsPlan; var output: URL }

    /// The cells of 02-data-records, in order.
    func runStep(_ store: ObjectStore, output: URL, force: Bool = false, strict: Bool = false, jobs: Int = 2) throws -> Run {
        let objects = try DataRecords.listTrainingObjects(store: store, exclude: ["cnn_dailymail_splitted.json.gz"])
        let sidecar = RecordsSidecar.load(file: RecordsSidecar.file(for: output), store: store, warn: { _ in })
        let plan = RecordsPlan(objects: objects, sidecar: sidecar, force: force)
        let counted = countRecordsInParallel(store: store, objects: plan.recount, jobs: jobs)
        let outcome = RecordsOutcome(plan: plan, counted: counted, strict: strict)
        try DataRecords.write(outcome.counts, file: output, store: store)
        try outcome.sidecar.save(file: RecordsSidecar.file(for: output), store: store)
        return Run(outcome: outcome, plan: plan, output: output)
    }

    func testCountsEveryFormatAsConstructed() throws {
        let dir = try temporaryDirectory(self)
        let store = try LocalStore(root: dir.appendingPathComponent("store"))
        let expected = try writeCorpus(store)
        let output = dir.appendingPathComponent("out/data_records.json")
        let run = try runStep(store, output: output)
        XCTAssertEqual(run.outcome.failures, [])
        XCTAssertEqual(run.outcome.counts, expected)
        XCTAssertEqual(try DataRecords.read(file: output), expected)
        XCTAssertEqual(try DataRecords.read(store: store), expected)
        // Keys sorted, one per line.
        let text = try String(contentsOf: output, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").dropFirst().dropLast().map { String($0.split(separator: "\"")[0 + 1]) },
                       expected.keys.sorted())
        let sidecar = try XCTUnwrap(RecordsSidecar.load(file: RecordsSidecar.file(for: output), store: store, warn: { _ in }))
        XCTAssertEqual(sidecar.entries["sets.jsonl.gz"]?.format, "set")
        XCTAssertEqual(sidecar.entries["amazon-qa.json.gz"]?.format, "query-pos-neg")
        XCTAssertEqual(sidecar.entries["stackexchange/site.json.gz"]?.blankLines, 2)
        XCTAssertEqual(sidecar.entries["triplets.json.gz"]?.lines, 700)
        XCTAssertEqual(sidecar.entries["empty.json.gz"]?.format, "empty")
    }

    func testCorruptFilesFailAloneAndMalformedLinesAreCountedSeparately() throws {
        let dir = try temporaryDirectory(self)
        let store = try LocalStore(root: dir.appendingPathComponent("store"))
        var good: [String] = []
        for i in 0..<50 { good.append(json(["a\(i)", "b"])) }
        try put(store, "data/good.json.gz", good)
        var mixed = good
        mixed[9] = "{\"texts\": [\"a\""                 // line 10: truncated JSON
        mixed[19] = json(["only one"])                  // line 20: too few texts
        try put(store, "data/mixed.json.gz", mixed)
        let big = try systemGzip(Data(good.map { $0 + "\n" }.joined().utf8))
        try store.putData(key: "data/truncated.json.gz", big.prefix(big.count - 10))
        var flipped = big
        flipped[big.count / 2] ^= 0x01
        try store.putData(key: "data/flipped.json.gz", flipped)

        let run = try runStep(store, output: dir.appendingPathComponent("data_records.json"))
        XCTAssertEqual(run.outcome.counts, ["good.json.gz": 50, "mixed.json.gz": 48])
        XCTAssertEqual(run.outcome.failures.count, 2)
        XCTAssertTrue(run.outcome.failures.contains { $0.hasPrefix("data/truncated.json.gz: corrupt gzip at compressed byte ") })
        XCTAssertTrue(run.outcome.failures.contains { $0.hasPrefix("data/flipped.json.gz: corrupt gzip at compressed byte ") })
        XCTAssertEqual(run.outcome.malformedTotal, 2)
        XCTAssertEqual(run.outcome.malformedReport, [
            "data/mixed.json.gz: line 10: invalid JSON (byte 14)",
            "data/mixed.json.gz: line 20: a list record needs at least 2 texts, found 1 (byte 12)",
        ])

        // --strict: the file with malformed lines fails too and is left out.
        let strict = try runStep(store, output: dir.appendingPathComponent("strict.json"), strict: true)
        XCTAssertEqual(strict.outcome.counts, ["good.json.gz": 50])
        XCTAssertTrue(strict.outcome.failures.contains { $0.hasPrefix("data/mixed.json.gz: 2 malformed lines (--strict); first at line 10") })
    }

    func testRerunReusesTheSidecarAndRecountsChangedObjects() throws {
        let dir = try temporaryDirectory(self)
        let store = try LocalStore(root: dir.appendingPathComponent("store"))
        try put(store, "data/a.json.gz", (0..<10).map { json(["a\($0)", "b"]) })
        try put(store, "data/b.json.gz", (0..<20).map { json(["a\($0)", "b"]) })
        try put(store, "data/gone.json.gz", (0..<5).map { json(["a\($0)", "b"]) })
        let output = dir.appendingPathComponent("data_records.json")
        _ = try runStep(store, output: output)

        // An older run's sidecar: a's entry carries a sentinel count (proves it is reused, not recounted);
        // b is rewritten (new size and mtime) so it must be recounted; gone is deleted and must disappear.
        var old = try XCTUnwrap(RecordsSidecar.load(file: RecordsSidecar.file(for: output), store: store, warn: { _ in }))
        old.entries["a.json.gz"]!.records = 777
        try old.save(file: RecordsSidecar.file(for: output), store: store)
        try put(store, "data/b.json.gz", (0..<33).map { json(["x\($0)", "y"]) })
        try store.delete(key: "data/gone.json.gz")
        let rerun = try runStep(store, output: output)
        XCTAssertEqual(rerun.plan.recount.map(\.key), ["data/b.json.gz"])
        XCTAssertEqual(rerun.outcome.counts, ["a.json.gz": 777, "b.json.gz": 33])

        // --force recounts everything.
        let forced = try runStep(store, output: output, force: true)
        XCTAssertEqual(forced.plan.recount.count, 2)
        XCTAssertEqual(forced.outcome.counts, ["a.json.gz": 10, "b.json.gz": 33])

        // A sidecar of another version, or garbage, is ignored with a warning: everything is recounted.
        var warnings: [String] = []
        try Data(#"{"version": 0, "entries": {}}"#.utf8).write(to: RecordsSidecar.file(for: output))
        XCTAssertNil(RecordsSidecar.load(file: RecordsSidecar.file(for: output), store: store, warn: { warnings.append($0) }))
        try Data("not json".utf8).write(to: RecordsSidecar.file(for: output))
        XCTAssertNil(RecordsSidecar.load(file: RecordsSidecar.file(for: output), store: store, warn: { warnings.append($0) }))
        XCTAssertEqual(warnings.count, 2)
        XCTAssertEqual(try runStep(store, output: output).plan.recount.count, 2)
    }

    func testReadsTheOriginalsDataRecordsFormat() throws {
        // As Python's json.dump wrote it: one line, ", " and ": " separators, integers.
        let original = #"{"AllNLI.json.gz": 277230, "reddit-title-body/reddit_title_text_2010.json.gz": 431782, "amazon-qa.json.gz": 2507114}"#
        let counts = try DataRecords.decode(Data(original.utf8), name: "data_records.json")
        XCTAssertEqual(counts, ["AllNLI.json.gz": 277230, "reddit-title-body/reddit_title_text_2010.json.gz": 431782,
                                "amazon-qa.json.gz": 2507114])
        XCTAssertEqual(try DataRecords.decode(DataRecords.encode(counts), name: "x"), counts)
        XCTAssertThrowsError(try DataRecords.decode(Data(#"{"a": "12"}"#.utf8), name: "bad.json")) { error in
            XCTAssertEqual(String(describing: error), "bad.json: field 'a': count must be a non-negative integer")
        }
    }

    /// The offline sample: counts equal the generator's (known by construction), and no held-out eval pair is
    /// a training pair.
    func testOfflineSampleMatchesItsGenerator() throws {
        let sample = packageRoot.appendingPathComponent("data/sample")
        let expected = try DataRecords.decode(try Data(contentsOf: sample.appendingPathComponent("expected_records.json")),
                                              name: "expected_records.json")
        XCTAssertEqual(expected.count, 8)
        let files = try LocalStore(root: sample)
        var trainingPairs = Set<[String]>()
        var formats = Set<String>()
        for (key, records) in expected {
            let name = String(key.dropLast(".json.gz".count))
            let count = try countRecords(store: files, key: "files/\(name).jsonl.gz")
            XCTAssertEqual(count.records, records, key)
            XCTAssertEqual(count.malformedLines, 0, key)
            formats.insert(count.format)
            let lines = try files.openGzipLines(key: "files/\(name).jsonl.gz")
            while let line = try lines.nextLine() {
                for example in try RecordParser.examples(fromLine: line) { trainingPairs.insert(Array(example.texts.prefix(2))) }
            }
        }
        XCTAssertEqual(formats, Set(RecordFormat.allCases.map(\.rawValue)))
        let eval = try String(contentsOf: sample.appendingPathComponent("eval_pairs.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: String] }
        XCTAssertGreaterThanOrEqual(eval.count, 200)
        for pair in eval {
            XCTAssertFalse(trainingPairs.contains([pair["anchor"]!, pair["positive"]!]))
            XCTAssertFalse(trainingPairs.contains([pair["positive"]!, pair["anchor"]!]))
        }
    }
}
