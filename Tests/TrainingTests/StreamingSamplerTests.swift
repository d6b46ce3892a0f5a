import Foundation
import XCTest
@testable import LodestoneCore

/// The streaming LodestoneSampler against EagerReferenceSampler (the sampler that read whole chunks) on the
/// offline sample's real gzip files: the same batches, step for step, across chunks and cycles, through
/// save and restore.
final class StreamingSamplerTests: XCTestCase {
    static let sampleFiles = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/sample/files")

    /// What data_records.json claims for each store key. Chunks of 8: AllNLI claims three times its 500 lines
    /// (read round and round); S2ORC's lines hold several positives; dup (12 lines, one question written in
    /// different case and spacing) claims 40, a share of 5 under the batch of 8, so its batches scan the whole
    /// share round and drop repeats; tiny claims 5, a share of 1.
    static let claims = ["AllNLI": 1500, "S2ORC_citations_abstracts": 490, "amazon-qa": 296, "gooaq_pairs": 600,
                         "quora_duplicates": 300, "reddit_2015": 400, "reddit_title_text_2021": 400,
                         "stackexchange_title_body_small": 400, "dup": 40, "tiny": 5]
    static let chunks = 8, batchSize = 8, batchesPerChunk = 60, cycles = 2

    var store: LocalStore!
    var directory: URL!

    override func setUpWithError() throws {
        directory = temporaryDirectory("sampler")
        store = try LocalStore(root: directory)
        for name in Self.claims.keys where name != "dup" && name != "tiny" {
            let bytes = try Data(contentsOf: Self.sampleFiles.appendingPathComponent("\(name).jsonl.gz"))
            try store.putData(key: "data/\(name).json.gz", bytes)
        }
        try store.writeGzipLines(key: "data/dup.json.gz", (0..<12).map { i in
            i % 3 == 0 ? #"[" What Is This ", "answer \#(i)"]"# : i % 3 == 1 ? #"["what is this", "answer \#(i)"]"# : #"["other \#(i)", "reply \#(i)"]"#
        })
        try store.writeGzipLines(key: "data/tiny.json.gz", ["[\"t0 q\", \"t0 a\"]", "", "[\"t1 q\", \"t1 a\"]"])
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    var files: [DataFile] { Self.claims.keys.sorted().map { DataFile(key: "data/\($0).json.gz", records: Self.claims[$0]!) } }

    func streaming() throws -> LodestoneSampler {
        try LodestoneSampler(files: files, chunks: Self.chunks, batchSize: Self.batchSize, maxWords: 12, seed: 7,
                             open: storeExampleOpener(store: store))
    }

    func reference() -> EagerReferenceSampler {
        EagerReferenceSampler(files: files, chunks: Self.chunks, batchSize: Self.batchSize, maxWords: 12, seed: 7,
                              open: storeExampleOpener(store: store))
    }

    /// The schedule as the trainer runs it: per chunk, load, draw its batches, finish.
    enum Event: Equatable { case load, batch, finish }
    static var schedule: [Event] {
        Array((0..<(cycles * chunks)).map { _ in [Event.load] + Array(repeating: .batch, count: batchesPerChunk) + [.finish] }.joined())
    }

    struct Batch: Equatable { var file: Int; var texts: [[String]] }

    func run(_ s: LodestoneSampler, _ events: ArraySlice<Event>) throws -> [Batch] {
        var out: [Batch] = []
        for event in events {
            switch event {
            case .load: try s.loadChunk()
            case .finish: s.finishChunk()
            case .batch: let (f, b) = try s.nextBatch(); out.append(Batch(file: f, texts: b.map(\.texts)))
            }
        }
        return out
    }

    func run(_ s: EagerReferenceSampler, _ events: ArraySlice<Event>) throws -> [Batch] {
        var out: [Batch] = []
        for event in events {
            switch event {
            case .load: try s.loadChunk()
            case .finish: s.finishChunk()
            case .batch: let (f, b) = s.nextBatch(); out.append(Batch(file: f, texts: b.map(\.texts)))
            }
        }
        return out
    }

    func assertSame(_ got: [Batch], _ expected: [Batch], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, label, file: file, line: line)
        if let i = (0..<min(got.count, expected.count)).first(where: { got[$0] != expected[$0] }) {
            XCTFail("\(label): batch \(i) differs:\n streaming \(got[i])\n reference \(expected[i])", file: file, line: line)
        }
    }

    func testStreamingGivesTheEagerBatchesOverAWholeSchedule() throws {
        let events = Self.schedule[...]
        let expected = try run(reference(), events)
        assertSame(try run(streaming(), events), expected, "whole schedule")

        // The schedule exercises what it should: dup's share (5) is under the batch size, so its batches scan
        // the share round and drop repeated questions; tiny's share is 1 example; AllNLI loops its file.
        let keys = files.map(\.key)
        let dup = expected.filter { keys[$0.file] == "data/dup.json.gz" }
        XCTAssertFalse(dup.isEmpty)
        XCTAssertTrue(dup.allSatisfy { $0.texts.count < 5 }, "\(dup)")
        XCTAssertTrue(expected.filter { keys[$0.file] == "data/tiny.json.gz" }.allSatisfy { $0.texts.count == 1 })
        let allNLI = expected.filter { keys[$0.file] == "data/AllNLI.json.gz" }.reduce(0) { $0 + $1.texts.count }
        XCTAssertGreaterThan(allNLI, 500, "AllNLI is read past its end")
    }

    /// State taken from the streaming sampler at many points (mid-chunk before and after wraps, just after a
    /// load, just after a finish whose rest of shares is not passed yet), restored in a fresh sampler: the rest
    /// of the schedule is the reference's.
    func testRestoredStreamingSamplerContinuesIdentically() throws {
        let events = Self.schedule
        let expected = try run(reference(), events[...])
        let perChunk = Self.batchesPerChunk + 2
        let cuts = [3, perChunk - 1, perChunk, perChunk + 1, 5 * perChunk + 41, 8 * perChunk + 1, 11 * perChunk + 59, events.count - 1]
        for cut in cuts {
            let original = try streaming()
            let before = try run(original, events[..<cut])
            let saved = try JSONDecoder().decode(SamplerState.self, from: JSONEncoder().encode(original.state))
            let resumed = try streaming()
            try resumed.restore(saved)
            assertSame(before + (try run(resumed, events[cut...])), expected, "restored at event \(cut) (\(events[cut]))")
        }
    }

    /// A checkpoint written by the eager sampler (no readInChunk; its readers at the ends of the shares) resumes
    /// exactly in the streaming one, inside a chunk and between chunks.
    func testCheckpointOfTheEagerSamplerResumesExactly() throws {
        let events = Self.schedule
        let perChunk = Self.batchesPerChunk + 2
        for cut in [2 * perChunk + 17, 3 * perChunk] {
            let old = reference()
            let before = try run(old, events[..<cut])
            let json = try JSONEncoder().encode(old.state)
            XCTAssertFalse(String(decoding: json, as: UTF8.self).contains("readInChunk"))
            let resumed = try streaming()
            try resumed.restore(try JSONDecoder().decode(SamplerState.self, from: json))
            let after = try run(old, events[cut...])
            assertSame(try run(resumed, events[cut...]), after, "eager checkpoint at event \(cut)")
            XCTAssertFalse(before.isEmpty)
        }
    }

    func testRestoreRefusesAStateThatDoesNotFitTheFiles() throws {
        let s = try streaming()
        try s.loadChunk()
        _ = try run(s, Array(repeating: Event.batch, count: 20)[...])
        var state = s.state
        state.cursors[0] = 10_000
        XCTAssertThrowsError(try streaming().restore(state)) { error in
            XCTAssertTrue("\(error)".contains("data/AllNLI.json.gz") && "\(error)".contains("share"), "\(error)")
        }
        // A file that now reads differently (here: the reader's saved position no longer matches) is named.
        var changed = s.state
        let f = changed.readInChunk!.firstIndex { $0 > 0 }!
        changed.readers[f].usedOfLine += 1
        XCTAssertThrowsError(try streaming().restore(changed)) { error in
            XCTAssertTrue("\(error)".contains(files[f].key) && "\(error)".contains("reads differently"), "\(error)")
        }
    }
}
