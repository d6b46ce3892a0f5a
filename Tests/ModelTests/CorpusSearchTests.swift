// Search over a stored corpus: the .npy reader refuses what is not float32 [rows, dim], and the blocked exact
// search returns what one full score matrix would.
import Foundation
import XCTest
@testable import LodestoneCore

final class CorpusSearchTests: XCTestCase {
    var root: URL!
    override func setUpWithError() throws { root = try temporaryDirectory("search") }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    func vectors(_ n: Int, _ dim: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in
            let v = (0..<dim).map { _ in Float(rng.nextDouble() - 0.5) }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
    }

    func testStoredEmbeddingsReadBackAsWritten() throws {
        let rows = vectors(7, 5, seed: 1)
        let url = root.appendingPathComponent("c.npy")
        try AtomicFile.write(EmbeddingFormat.npy.encode(rows, dimension: 5), to: url)
        let matrix = try NpyMatrix(path: url.path)
        XCTAssertEqual(matrix.rows, 7); XCTAssertEqual(matrix.dimension, 5)
        matrix.withRows { p in XCTAssertEqual(Array(UnsafeBufferPointer(start: p, count: 35)), rows.flatMap { $0 }) }
    }

    func npyFile(header: String, payloadBytes: Int) throws -> String {
        var h = header
        h += String(repeating: " ", count: (64 - (10 + h.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.utf8.count & 0xFF), UInt8(h.utf8.count >> 8)])
        data.append(contentsOf: Array(h.utf8)); data.append(Data(count: payloadBytes))
        let url = root.appendingPathComponent("x-\(UUID().uuidString).npy")
        try data.write(to: url)
        return url.path
    }

    func testWrongDtypeShapeOrLengthIsRefused() throws {
        let f8 = try npyFile(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", payloadBytes: 48)
        XCTAssertThrowsError(try NpyMatrix(path: f8)) { XCTAssertEqual("\($0)", "\(f8): field 'descr': dtype '<f8': need little-endian float32 ('<f4')") }
        let big = try npyFile(header: "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", payloadBytes: 24)
        XCTAssertThrowsError(try NpyMatrix(path: big)) { XCTAssertEqual("\($0)", "\(big): field 'descr': dtype '>f4': need little-endian float32 ('<f4')") }
        let cube = try npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", payloadBytes: 96)
        XCTAssertThrowsError(try NpyMatrix(path: cube)) { XCTAssertTrue("\($0)".contains("field 'shape'"), "\($0)") }
        let fortran = try npyFile(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", payloadBytes: 24)
        XCTAssertThrowsError(try NpyMatrix(path: fortran)) { XCTAssertTrue("\($0)".contains("fortran_order"), "\($0)") }
        let short = try npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", payloadBytes: 20)
        XCTAssertThrowsError(try NpyMatrix(path: short)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
        let text = root.appendingPathComponent("t.npy")
        try Data("not numpy at all".utf8).write(to: text)
        XCTAssertThrowsError(try NpyMatrix(path: text.path)) { XCTAssertTrue("\($0)".contains("not a NumPy .npy file"), "\($0)") }
    }

    func testBlockedSearchEqualsTheFullScoreMatrix() {
        let corpus = vectors(1000, 16, seed: 2), queries = vectors(9, 16, seed: 3)   // unit length: cosine = dot
        let scores = Retrieval.scoreMatrix(queries, corpus, dimension: 16)
        let flatQ = queries.flatMap { $0 }, flatC = corpus.flatMap { $0 }
        let hits = flatQ.withUnsafeBufferPointer { q in
            flatC.withUnsafeBufferPointer { c in
                Retrieval.search(queries: q.baseAddress!, queryCount: 9, corpus: c.baseAddress!, corpusCount: 1000,
                                 dimension: 16, k: 7, blockRows: 128)
            }
        }
        for q in 0..<9 {
            let row = scores[(q * 1000)..<((q + 1) * 1000)]
            let brute = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(7).map { $0 - q * 1000 }
            XCTAssertEqual(hits[q].map(\.index), Array(brute))
        }
    }

    /// Other writers quote the header's keys with double quotes; the header is a Python dict all the same.
    func testHeaderWithDoubleQuotedKeysIsRead() throws {
        let path = try npyFile(header: #"{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}"#, payloadBytes: 24)
        let matrix = try NpyMatrix(path: path)
        XCTAssertEqual(matrix.rows, 2); XCTAssertEqual(matrix.dimension, 3)
    }

    /// Stored embeddings that are not unit length (a model without Normalize) are ranked by cosine, not by dot product.
    func testSearchRanksByCosineNotDotProduct() {
        let corpus: [Float] = [10, 10,   // long, 45° from the query
                               1, 0.1]   // short, nearly along it
        let query: [Float] = [1, 0]
        let hits = query.withUnsafeBufferPointer { q in
            corpus.withUnsafeBufferPointer { c in
                Retrieval.search(queries: q.baseAddress!, queryCount: 1, corpus: c.baseAddress!, corpusCount: 2, dimension: 2, k: 2)
            }
        }
        XCTAssertEqual(hits[0].map(\.index), [1, 0])
        XCTAssertEqual(hits[0][0].score, 1 / Float(1.01).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(hits[0][1].score, Float(0.5).squareRoot(), accuracy: 1e-6)
    }
}

/// CorpusSearch, 05-embed search's one call: a stored corpus and the same rows computed give the same hits, and
/// stored embeddings that disagree with the texts or the queries are named.
extension CorpusSearchTests {
    func testStoredAndComputedCorporaGiveTheSameHits() throws {
        let model = try SentenceModel.load(mosaicTiny)
        let texts = ["magnets attract iron", "bread needs yeast", "iron is a metal", "the sea is salty"]
        let computed = try CorpusSearch.Matrix.make(texts: texts, stored: nil, textsFile: "docs.txt", model: model)
        let url = root.appendingPathComponent("docs.npy")
        try AtomicFile.write(EmbeddingFormat.npy.encode(try model.embed(texts), dimension: model.dimension), to: url)
        let stored = try CorpusSearch.Matrix.make(texts: texts, stored: try NpyMatrix(path: url.path), textsFile: "docs.txt", model: nil)
        let queries = try CorpusSearch.Matrix.make(texts: ["what attracts iron?"], stored: nil, textsFile: "--query", model: model)
        let a = try CorpusSearch(corpus: computed).search(queries, k: 4), b = try CorpusSearch(corpus: stored).search(queries, k: 4)
        XCTAssertEqual(a[0].map(\.index), b[0].map(\.index))
        XCTAssertEqual(Set(a[0].map(\.index)), [0, 1, 2, 3])
        // The expected order, from cosines taken here.
        let q = try model.embed(["what attracts iron?"])[0], docs = try model.embed(texts)
        let expected = docs.indices.sorted { cosineSimilarity(q, docs[$0]) > cosineSimilarity(q, docs[$1]) }
        XCTAssertEqual(a[0].map(\.index), expected)
    }

    func testStoredEmbeddingsThatDisagreeAreNamed() throws {
        let url = root.appendingPathComponent("three.npy")
        try AtomicFile.write(EmbeddingFormat.npy.encode(vectors(3, 5, seed: 2), dimension: 5), to: url)
        let matrix = try NpyMatrix(path: url.path)
        XCTAssertThrowsError(try CorpusSearch.Matrix.make(texts: ["a", "b"], stored: matrix, textsFile: "docs.txt", model: nil)) {
            XCTAssertEqual("\($0)", "\(url.path): field 'shape': 3 rows, but docs.txt holds 2 texts")
        }
        let corpus = try CorpusSearch.Matrix.make(texts: nil, stored: matrix, textsFile: "", model: nil)
        let queries = CorpusSearch.Matrix.computed([1, 0, 0, 0], rows: 1, dimension: 4)
        XCTAssertThrowsError(try CorpusSearch(corpus: corpus).search(queries, k: 1)) {
            XCTAssertEqual("\($0)", "\(url.path): field 'shape': queries of dimension 4 against a corpus of dimension 5")
        }
    }
}
