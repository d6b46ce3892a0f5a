// The fused tiled search (Retrieval.search → CorpusScan) against a brute-force ranking written here: odd sizes,
// tiles that do not divide the corpus, k past the corpus's size, exact ties, several threads; and bf16 scoring
// with its fp32 re-rank on rows that bf16 scores alone rank wrongly. The bf16 tests skip on a CPU without
// AVX512_BF16.
import XCTest
@testable import LodestoneCore
@testable import LodestoneModel

final class FusedSearchTests: XCTestCase {
    typealias Hit = (index: Int, score: Float)

    /// Rows of small integers in [-3, 3]: every dot product with a query of halves is exact in fp32 whatever the
    /// order of the sum, and so is every squared norm, so equal rows score bit-for-bit equal (exact ties).
    func integerRows(_ n: Int, _ dim: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<(n * dim)).map { _ in Float(Int(rng.nextDouble() * 7) - 3) }
    }

    /// Queries of norm exactly 2 (four entries ±1, the rest 0), so normalizing them is exact too.
    func integerQueries(_ n: Int, _ dim: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var out = [Float](repeating: 0, count: n * dim)
        for q in 0..<n {
            var positions = Set<Int>()
            while positions.count < min(4, dim) { positions.insert(Int(rng.nextDouble() * Double(dim))) }
            for p in positions { out[q * dim + p] = rng.nextDouble() < 0.5 ? -1 : 1 }
        }
        return out
    }

    /// Every row's cosine with every query, sorted best first, lower index on ties: the definition, brute force.
    /// With the exact data above each score is one correctly rounded fp32 division chain, as the search's own.
    func bruteForce(_ queries: [Float], _ corpus: [Float], dim: Int, k: Int) -> [[Hit]] {
        let n = corpus.count / dim
        return stride(from: 0, to: queries.count, by: dim).map { q0 -> [Hit] in
            let q = Array(queries[q0..<(q0 + dim)])
            let qNorm = q.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            let unit = q.map { $0 * (1 / qNorm) }
            let scored = (0..<n).map { r -> Hit in
                let row = corpus[(r * dim)..<((r + 1) * dim)]
                let dot = zip(unit, row).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                let norm = max(row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                return (r, dot * (1 / norm))
            }
            return Array(scored.sorted { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }.prefix(k))
        }
    }

    func search(_ queries: [Float], _ corpus: [Float], dim: Int, k: Int, tile: Int?, precision: MatmulPrecision = .fp32) -> [[Hit]] {
        queries.withUnsafeBufferPointer { q in
            corpus.withUnsafeBufferPointer { c in
                Retrieval.search(queries: q.baseAddress!, queryCount: queries.count / dim, corpus: c.baseAddress!,
                                 corpusCount: corpus.count / dim, dimension: dim, k: k, blockRows: tile, precision: precision)
            }
        }
    }

    func assertSame(_ got: [[Hit]], _ want: [[Hit]], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        for (q, (g, w)) in zip(got, want).enumerated() {
            XCTAssertEqual(g.map(\.index), w.map(\.index), "\(what), query \(q)", file: file, line: line)
            XCTAssertEqual(g.map(\.score), w.map(\.score), "\(what), query \(q)", file: file, line: line)
        }
    }

    /// Three threads (more than this machine's cores is fine), restored afterwards.
    func onThreads<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
        let saved = blasThreads()
        setBLASThreads(n)
        defer { setBLASThreads(saved) }
        return try body()
    }

    func testFusedSearchEqualsBruteForceOnOddSizes() {
        onThreads(3) {
            for (n, dim) in [(1, 4), (7, 19), (33, 19), (1037, 19)] {
                let corpus = integerRows(n, dim, seed: UInt64(n)), queries = integerQueries(13, dim, seed: UInt64(n + 1))
                for k in [1, 3, 10, 50] {
                    let want = bruteForce(queries, corpus, dim: dim, k: k)
                    for tile in [1, 5, 32, 128, nil] {
                        assertSame(search(queries, corpus, dim: dim, k: k, tile: tile), want, "n \(n), k \(k), tile \(tile.map(String.init) ?? "default")")
                    }
                }
            }
        }
    }

    func testKPastTheCorpusReturnsEveryRowRanked() {
        let corpus = integerRows(7, 5, seed: 9), queries = integerQueries(2, 5, seed: 10)
        let hits = search(queries, corpus, dim: 5, k: 12, tile: 3)
        XCTAssertEqual(hits.map(\.count), [7, 7])
        for list in hits { XCTAssertEqual(Set(list.map(\.index)), Set(0..<7)) }
        assertSame(hits, bruteForce(queries, corpus, dim: 5, k: 12), "k 12 of 7 rows")
    }

    /// The best row copied to other places, in other tiles and threads: the copies tie, and rank by index.
    func testTiesGoToTheLowerIndexAcrossTilesAndThreads() {
        let dim = 8
        var corpus = integerRows(300, dim, seed: 11)
        let query: [Float] = [1, 1, 1, 1, 0, 0, 0, 0]
        let best: [Float] = [3, 3, 3, 3, 0, 0, 0, 1]
        for r in [290, 17, 141, 142] { corpus.replaceSubrange((r * dim)..<((r + 1) * dim), with: best) }
        let hits = onThreads(2) { search(query, corpus, dim: dim, k: 4, tile: 16) }
        XCTAssertEqual(hits[0].map(\.index), [17, 141, 142, 290])
        XCTAssertEqual(Set(hits[0].map(\.score)).count, 1)
    }

    /// Random rows (no exact ties): the brute force's lists, scores to 1e-5 (sgemm sums in another order), on two threads.
    func testRandomRowsMatchTheBruteForceRanking() {
        var rng = SplitMix64(seed: 21)
        let dim = 24, corpus = (0..<(2000 * dim)).map { _ in Float(rng.nextDouble() - 0.5) }
        let queries = (0..<(9 * dim)).map { _ in Float(rng.nextDouble() - 0.5) }
        let want = bruteForce(queries, corpus, dim: dim, k: 10)
        let got = onThreads(2) { search(queries, corpus, dim: dim, k: 10, tile: 100) }
        XCTAssertEqual(got.map { $0.map(\.index) }, want.map { $0.map(\.index) })
        for (g, w) in zip(got, want) { for (a, b) in zip(g, w) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5) } }
    }

    func testPoolKeepsEveryRowWithinTheMarginOfTheKthBest() {
        var pool = CandidatePool(k: 2, margin: 0.25)
        let scores: [Float] = (0..<64).map { Float($0 % 8) / 8 }   // 0, 0.125, …, 0.875, eight times
        for (i, s) in scores.enumerated() { pool.add(i, s) }       // the 64th add prunes
        XCTAssertEqual(pool.floor, 0.875 - 0.25)
        XCTAssertEqual(Set(pool.scores), [0.625, 0.75, 0.875])
        XCTAssertEqual(pool.indices.count, 24)
    }

    // MARK: bf16 scoring, fp32 re-rank

    /// Rows (a, 1) with a in [0.5, 0.6): cosine with (1, 0) grows with a, but bf16 holds a only to 2⁻⁸, so rows
    /// sharing one bf16 value of a get the same dot product and then rank by 1/‖row‖, falling as a grows: bf16
    /// scores alone rank each such group backwards.
    func testBF16RerankGivesTheFP32Ranking() throws {
        guard CPUFeatures.host.hasBF16GEMM else { throw XCTSkip("this CPU lacks avx512_bf16") }
        var rng = SplitMix64(seed: 5)
        var order = Array(0..<100)
        for i in stride(from: 99, to: 0, by: -1) { order.swapAt(i, Int(rng.nextDouble() * Double(i + 1))) }
        let corpus: [Float] = order.flatMap { a -> [Float] in [0.5 + 0.001 * Float(a), 1] }
        let query: [Float] = [1, 0]
        let want = bruteForce(query, corpus, dim: 2, k: 5)
        XCTAssertEqual(want[0].map { order[$0.index] }, [99, 98, 97, 96, 95])
        // The data must fool bf16 scores by themselves, or this test could not fail.
        var naive = [Float](repeating: 0, count: 100)
        bf16GEMM(transA: false, transB: true, m: 1, n: 100, k: 2, alpha: 1, query, lda: 2, corpus, ldb: 2, beta: 0, &naive, ldc: 100)
        let naiveScores = (0..<100).map { naive[$0] / hypot(corpus[2 * $0], 1) }
        let naiveTop = (0..<100).sorted { naiveScores[$0] > naiveScores[$1] }.prefix(5)
        XCTAssertNotEqual(Array(naiveTop), want[0].map(\.index))
        for tile in [7, 32, nil] {
            let got = onThreads(2) { search(query, corpus, dim: 2, k: 5, tile: tile, precision: .bf16) }
            XCTAssertEqual(got[0].map(\.index), want[0].map(\.index), "tile \(tile.map(String.init) ?? "default")")
            for (g, w) in zip(got[0], want[0]) { XCTAssertEqual(g.score, w.score, accuracy: 1e-6) }
        }
    }

    func testBF16SearchEqualsBruteForceOnOddSizesAndTies() throws {
        guard CPUFeatures.host.hasBF16GEMM else { throw XCTSkip("this CPU lacks avx512_bf16") }
        try onThreads(3) {
            for (n, dim) in [(1, 4), (33, 19), (1037, 19)] {
                let corpus = integerRows(n, dim, seed: UInt64(n)), queries = integerQueries(13, dim, seed: UInt64(n + 1))
                for k in [1, 10, 50] {
                    let want = bruteForce(queries, corpus, dim: dim, k: k)
                    for tile in [5, 128, nil] {
                        assertSame(search(queries, corpus, dim: dim, k: k, tile: tile, precision: .bf16), want,
                                   "bf16, n \(n), k \(k), tile \(tile.map(String.init) ?? "default")")
                    }
                }
            }
            // Random rows: the fp32 path's lists, scores to a few ulps (the re-rank sums in another order).
            var rng = SplitMix64(seed: 8)
            let dim = 40, corpus = (0..<(3001 * dim)).map { _ in Float(rng.nextDouble() - 0.5) }
            let queries = (0..<(17 * dim)).map { _ in Float(rng.nextDouble() - 0.5) }
            let fp32 = search(queries, corpus, dim: dim, k: 10, tile: 96)
            let bf16 = search(queries, corpus, dim: dim, k: 10, tile: 96, precision: .bf16)
            XCTAssertEqual(bf16.map { $0.map(\.index) }, fp32.map { $0.map(\.index) })
            for (g, w) in zip(bf16.joined(), fp32.joined()) { XCTAssertEqual(g.score, w.score, accuracy: 1e-5) }
        }
    }

    // MARK: 05-embed search

    /// Stored corpus and query embeddings, no texts: the hits the brute force ranks, at fp32 and (where the CPU
    /// has it) bf16, and the precision named in the log.
    func testSearchWithStoredQueryEmbeddingsGivesTheBruteForceHits() throws {
        let root = try temporaryDirectory("fused-search")
        defer { try? FileManager.default.removeItem(at: root) }
        let dim = 19, corpus = integerRows(200, dim, seed: 3), queries = integerQueries(4, dim, seed: 4)
        func npy(_ values: [Float], _ name: String) throws -> String {
            let rows = stride(from: 0, to: values.count, by: dim).map { Array(values[$0..<($0 + dim)]) }
            let url = root.appendingPathComponent(name)
            try EmbeddingFormat.npy.encode(rows, dimension: dim).write(to: url)
            return url.path
        }
        let corpusFile = try npy(corpus, "corpus.npy"), queryFile = try npy(queries, "queries.npy")
        let want = bruteForce(queries, corpus, dim: dim, k: 6).map { $0.map(\.index) }
        for precision in CPUFeatures.host.hasBF16GEMM ? ["fp32", "bf16"] : ["fp32"] {
            let output = root.appendingPathComponent("hits-\(precision).jsonl")
            let run = try runStep("05-embed", ["search", "--model", mosaicTiny.path, "--corpus-embeddings", corpusFile,
                                               "--query-embeddings", queryFile, "--top-k", "6", "--precision", precision,
                                               "--output", output.path], testCase: FusedSearchTests.self)
            XCTAssertEqual(run.status, 0, run.output)
            XCTAssertTrue(run.output.contains("precision \(precision)"), run.output)
            let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
            let got = try lines.map { line -> [Int] in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return (object?["hits"] as? [[String: Any]] ?? []).compactMap { $0["index"] as? Int }
            }
            XCTAssertEqual(got, want, precision)
        }
    }
}
