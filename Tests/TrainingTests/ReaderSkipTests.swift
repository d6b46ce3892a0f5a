import Foundation
import XCTest
@testable import LodestoneCore

/// Lines served from memory that count how each line was handed over: decoded into examples, counted, or
/// passed over unread.
final class CountingLineSource: ExampleLineSource {
    final class Tally { var decoded = 0, counted = 0, passed = 0; var touched: Int { decoded + counted + passed } }
    let lines: [[TrainingExample]]
    let tally: Tally
    var next = 0
    init(_ lines: [[TrainingExample]], tally: Tally) { self.lines = lines; self.tally = tally }
    func nextLine() throws -> [TrainingExample]? {
        guard next < lines.count else { return nil }
        defer { next += 1 }
        tally.decoded += 1
        return lines[next]
    }
    func nextLine(skippingAtMost limit: Int) throws -> LineOrSkip? {
        guard next < lines.count else { return nil }
        defer { next += 1 }
        let usable = lines[next].filter { $0.texts.count >= 2 }
        if usable.count <= limit { tally.counted += 1; return .skipped(examples: usable.count) }
        tally.decoded += 1
        return .read(usable)
    }
    func skipLine() throws -> Bool {
        guard next < lines.count else { return false }
        next += 1; tally.passed += 1
        return true
    }
    func close() {}
}

final class ReaderSkipTests: XCTestCase {
    /// 6 examples a pass: line 1 one, line 2 blank, line 3 three, line 4 malformed (nothing), line 5 two plus
    /// one with a single text (dropped), line 6 blank.
    let lines: [[TrainingExample]] = [
        [TrainingExample(texts: ["a q", "a p"])],
        [],
        [TrainingExample(texts: ["b q", "b p0"]), TrainingExample(texts: ["b q", "b p1"]), TrainingExample(texts: ["b q", "b p2"])],
        [],
        [TrainingExample(texts: ["c q", "c p0"]), TrainingExample(texts: ["alone"]), TrainingExample(texts: ["c q", "c p1"])],
        [],
    ]
    /// Each example of a pass: the 1-based line it is on and how many of that line's examples are used after it.
    let layout = [(1, 1), (3, 1), (3, 2), (3, 3), (5, 1), (5, 2)]
    let secondTexts = ["a p", "b p0", "b p1", "b p2", "c p0", "c p1"]

    func position(after k: Int) -> ReaderPosition {
        let (line, used) = layout[(k - 1) % layout.count]
        return ReaderPosition(pass: (k - 1) / layout.count, lines: line, usedOfLine: used)
    }

    func reader(_ tally: CountingLineSource.Tally = .init()) -> EndlessExampleReader {
        EndlessExampleReader(key: "k", maxWords: 10, open: { [lines] _ in CountingLineSource(lines, tally: tally) })
    }

    func testSkipLandsExactlyWhereNextWould() throws {
        for m in 0..<14 {
            for n in 0..<20 {
                let stepped = reader(), skipped = reader()
                for _ in 0..<(m + n) { _ = try stepped.next() }
                for _ in 0..<m { _ = try skipped.next() }
                let reopened = reader()
                reopened.seek(to: skipped.position)
                try skipped.skip(n); try reopened.skip(n)
                if m + n > 0 { XCTAssertEqual(stepped.position, position(after: m + n), "m \(m) n \(n)") }
                XCTAssertEqual(skipped.position, stepped.position, "m \(m) n \(n)")
                XCTAssertEqual(reopened.position, stepped.position, "m \(m) n \(n), reopened")
                let following = try stepped.next().texts
                XCTAssertEqual(following[1], secondTexts[(m + n) % 6])
                XCTAssertEqual(try skipped.next().texts, following, "m \(m) n \(n)")
                XCTAssertEqual(try reopened.next().texts, following, "m \(m) n \(n), reopened")
            }
        }
    }

    /// A skip of a billion examples counts at most a few passes of lines and jumps the rest.
    func testHugeSkipJumpsWholePasses() throws {
        for start in [0, 1, 4] {
            let tally = CountingLineSource.Tally()
            let r = reader(tally)
            for _ in 0..<start { _ = try r.next() }
            let n = 1_000_000_007
            try r.skip(n)
            XCTAssertEqual(r.position, position(after: start + n), "from \(start)")
            XCTAssertLessThanOrEqual(tally.touched, 4 * lines.count, "from \(start)")
            XCTAssertEqual(try r.next().texts[1], secondTexts[(start + n) % 6])
        }
    }

    /// Seeking re-reads up to the position without decoding the lines before it.
    func testSeekPassesOverEarlierLinesUndecoded() throws {
        let tally = CountingLineSource.Tally()
        let r = reader(tally)
        r.seek(to: ReaderPosition(pass: 3, lines: 5, usedOfLine: 1))
        XCTAssertEqual(try r.next().texts, ["c q", "c p1"])
        XCTAssertEqual(tally.passed, 4)
        XCTAssertEqual(tally.decoded, 1)
    }

    /// The store's reader counts lines with 02's scan: blank, malformed and several-positive lines skip as they read.
    func testStoreReaderSkipsAsItReads() throws {
        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let store = try LocalStore(root: dir)
        try store.writeGzipLines(key: "data/mixed.json.gz", [
            #"{"query": "q0", "pos": ["p0 a", "p0 b", "p0 c"]}"#, "", #"["x", "y"]"#, #"{"query": "broken"#,
            #"{"texts": ["t1", "t2", "t3"]}"#, #"{"query": "q1", "pos": []}"#, #"{"set": ["s1", "s2", "s3"]}"#,
        ])
        let open = storeExampleOpener(store: store)
        let perPass = 6   // 3 + 1 + 1 + 1
        for m in [0, 1, 2, 5] {
            for n in [0, 1, 2, 3, 4, 5, 6, 7, 13, 1_000_003] {
                let stepped = EndlessExampleReader(key: "data/mixed.json.gz", maxWords: 5, open: open)
                let skipped = EndlessExampleReader(key: "data/mixed.json.gz", maxWords: 5, open: open)
                for _ in 0..<m { _ = try stepped.next(); _ = try skipped.next() }
                try skipped.skip(n)
                let stepsNeeded = n < 100 ? n : n % perPass + perPass   // same place: whole passes on
                for _ in 0..<stepsNeeded { _ = try stepped.next() }
                XCTAssertEqual(skipped.position.lines, stepped.position.lines, "m \(m) n \(n)")
                XCTAssertEqual(skipped.position.usedOfLine, stepped.position.usedOfLine, "m \(m) n \(n)")
                XCTAssertEqual(skipped.position.pass, stepped.position.pass + (n < 100 ? 0 : n / perPass - 1), "m \(m) n \(n)")
                XCTAssertEqual(try skipped.next().texts, try stepped.next().texts, "m \(m) n \(n)")
            }
        }
    }

    /// The sampler decodes what its batches take: a claim of 3 million records over a 50-line file touches a
    /// few passes' worth of lines per chunk, not the chunk's million examples.
    func testSamplerReadsOnlyWhatBatchesTake() throws {
        let tally = CountingLineSource.Tally()
        let file = (0..<50).map { [TrainingExample(texts: ["q \($0)", "p \($0)"])] }
        let sampler = try LodestoneSampler(files: [DataFile(key: "big", records: 3_000_000)], chunks: 3, batchSize: 4,
                                           maxWords: 10, seed: 1, open: { _ in CountingLineSource(file, tally: tally) })
        try sampler.loadChunk()
        for _ in 0..<10 { _ = try sampler.nextBatch() }
        XCTAssertEqual(tally.decoded, 40)
        sampler.finishChunk()
        try sampler.loadChunk()
        // The second chunk starts after the first's 1,000,000 examples: pass 19,999, just after line 50.
        XCTAssertEqual(sampler.state.chunkStart, [ReaderPosition(pass: 19_999, lines: 50, usedOfLine: 1)])
        XCTAssertEqual(try sampler.nextBatch().examples.first?.texts.sorted(), ["p 0", "q 0"])
        XCTAssertLessThan(tally.touched, 200)
    }
}
