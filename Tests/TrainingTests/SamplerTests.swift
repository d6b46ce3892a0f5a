import Foundation
import XCTest
@testable import LodestoneCore

final class SamplerTests: XCTestCase {
    func testEachChunkTakesEachFilesQuotaAndReadersWrapAround() throws {
        let (files, open) = makeCorpus(["a": 10, "b": 4, "c": 1])
        let sampler = try LodestoneSampler(files: files, chunks: 2, batchSize: 4, maxWords: 100, seed: 42, open: open)
        // quota: max(1, records // chunks) = 5, 2, 1; each chunk starts where the previous one's quotas end.
        try sampler.loadChunk()
        XCTAssertEqual(sampler.state.chunkStart, Array(repeating: ReaderPosition(), count: 3))
        sampler.finishChunk(); try sampler.loadChunk()
        XCTAssertEqual(sampler.state.chunkStart.map(\.lines), [5, 2, 1])
        sampler.finishChunk(); try sampler.loadChunk()
        XCTAssertEqual(sampler.state.chunkStart, [ReaderPosition(pass: 0, lines: 10, usedOfLine: 1),
                                                  ReaderPosition(pass: 0, lines: 4, usedOfLine: 1),
                                                  ReaderPosition(pass: 1, lines: 1, usedOfLine: 1)])
        sampler.finishChunk(); try sampler.loadChunk()
        XCTAssertEqual(sampler.state.chunkStart.map(\.pass), [1, 1, 2])
        XCTAssertEqual(sampler.state.chunkStart.map(\.lines), [5, 2, 1])
    }

    func testBatchesComeFromOneFileWithoutRepeatedTexts() throws {
        // File "dup" repeats the same pair under different case and spacing: only one may enter a batch.
        let dup = (0..<8).map { i in [TrainingExample(texts: [i % 2 == 0 ? " Same Question " : "same question", "answer \(i)"])] }
        let (files0, open0) = makeCorpus(["x": 40, "y": 40])
        let open: ExampleFileOpener = { key in key == "dup" ? ArrayLineSource(dup) : try open0(key) }
        let sampler = try LodestoneSampler(files: files0 + [DataFile(key: "dup", records: 8)], chunks: 1,
                                           batchSize: 6, maxWords: 100, seed: 7, open: open)
        try sampler.loadChunk()
        var sawDup = false
        for _ in 0..<60 {
            let (file, batch) = try sampler.nextBatch()
            let key = sampler.files[file].key
            if key == "dup" {
                sawDup = true
                XCTAssertEqual(batch.count, 1, "8 copies of one question make a batch of one")
            } else {
                XCTAssertEqual(batch.count, 6)
                for example in batch { XCTAssertTrue(example.texts.allSatisfy { $0.hasPrefix(key + " ") }, "\(example) not from \(key)") }
                let normalized = batch.flatMap(\.texts).map { $0.lowercased() }
                XCTAssertEqual(Set(normalized).count, normalized.count)
            }
        }
        XCTAssertTrue(sawDup)
    }

    func testFilesAreDrawnInProportionToRecordsAndPairsSwapHalfTheTime() throws {
        let (files, open) = makeCorpus(["big": 300, "small": 100])
        let sampler = try LodestoneSampler(files: files, chunks: 1, batchSize: 4, maxWords: 100, seed: 42, open: open)
        try sampler.loadChunk()
        var big = 0, swapped = 0, examples = 0
        let n = 4000
        for _ in 0..<n {
            let (file, batch) = try sampler.nextBatch()
            if sampler.files[file].key == "big" { big += 1 }
            for e in batch { examples += 1; if e.texts[0].contains(" answer ") { swapped += 1 } }
        }
        XCTAssertEqual(Double(big) / Double(n), 0.75, accuracy: 0.03)
        XCTAssertEqual(Double(swapped) / Double(examples), 0.5, accuracy: 0.02)
    }

    func testRestoredSamplerContinuesExactlyAcrossChunks() throws {
        let (files, open) = makeCorpus(["a": 9, "b": 5])
        func make() throws -> LodestoneSampler {
            try LodestoneSampler(files: files, chunks: 3, batchSize: 2, maxWords: 100, seed: 3, open: open)
        }
        func draw(_ s: LodestoneSampler, _ n: Int) throws -> [[String]] {
            var out: [[String]] = []
            for i in 0..<n {
                if i % 4 == 0 { s.finishChunk(); try s.loadChunk() }
                out.append(try s.nextBatch().examples.flatMap(\.texts))
            }
            return out
        }
        let original = try make()
        try original.loadChunk()
        _ = try draw(original, 2)
        let saved = try JSONDecoder().decode(SamplerState.self, from: JSONEncoder().encode(original.state))
        let expected = try draw(original, 17)
        let resumed = try make()
        try resumed.restore(saved)
        XCTAssertEqual(try draw(resumed, 17), expected)
    }

    func testReaderResumesInsideALineOfSeveralExamples() throws {
        // A {"query","pos":[…]} line yields one example per positive; position counts examples used of the line.
        let lines = (0..<3).map { l in (0..<3).map { p in TrainingExample(texts: ["q\(l)", "p\(l)-\(p)"]) } }
        let open: ExampleFileOpener = { _ in ArrayLineSource(lines) }
        let reader = EndlessExampleReader(key: "qp", maxWords: 10, open: open)
        for _ in 0..<4 { _ = try reader.next() }
        XCTAssertEqual(reader.position, ReaderPosition(pass: 0, lines: 2, usedOfLine: 1))
        let again = EndlessExampleReader(key: "qp", maxWords: 10, position: reader.position, open: open)
        var a: [String] = [], b: [String] = []
        for _ in 0..<8 { a.append(try reader.next().texts[1]); b.append(try again.next().texts[1]) }
        XCTAssertEqual(a, b)
        XCTAssertEqual(a, ["p1-1", "p1-2", "p2-0", "p2-1", "p2-2", "p0-0", "p0-1", "p0-2"])
    }

    func testTextsAreCutToTheirFirstWords() throws {
        XCTAssertEqual(truncateWords("one two three four", to: 2), "one two")
        XCTAssertEqual(truncateWords("one two", to: 2), "one two")
        // Python's " ".join("a  b c".split(" ")[:2]) == "a " (two spaces make an empty word).
        XCTAssertEqual(truncateWords("a  b c", to: 2), "a ")
        let open: ExampleFileOpener = { _ in ArrayLineSource([[TrainingExample(texts: ["w1 w2 w3 w4", "x y"])]]) }
        XCTAssertEqual(try EndlessExampleReader(key: "k", maxWords: 3, open: open).next().texts, ["w1 w2 w3", "x y"])
    }

    func testAFileWithoutExamplesIsAnErrorNamingIt() throws {
        let open: ExampleFileOpener = { _ in ArrayLineSource([[], []]) }
        let reader = EndlessExampleReader(key: "data/empty.json.gz", maxWords: 3, open: open)
        XCTAssertThrowsError(try reader.next()) { XCTAssertTrue("\($0)".contains("data/empty.json.gz"), "\($0)") }
    }

    func testGeneratorStateRoundTripsAndPicksByWeight() throws {
        var g = SeededGenerator(seed: 42)
        for _ in 0..<5 { _ = g.next() }
        var h = try JSONDecoder().decode(SeededGenerator.self, from: JSONEncoder().encode(g))
        XCTAssertEqual((0..<10).map { _ in g.next() }, (0..<10).map { _ in h.next() })
        XCTAssertNotEqual(SeededGenerator(seed: 1).state, SeededGenerator(seed: 2).state)
        for _ in 0..<100 { XCTAssertEqual(g.pick(weights: [0, 3, 0]), 1) }
    }
}
