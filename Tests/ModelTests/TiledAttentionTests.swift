// The tiled attention kernels against a plain reference written here: the whole L×L score matrix per head, a
// softmax in Double, the dropout mask drawn element by element from the documented index formula, and the
// gradients by the chain rule through P (Σ_k P_ik dP_ik, not the kernel's rowsum(dO ⊙ O) shortcut).
import XCTest
@testable import LodestoneTensor

final class TiledAttentionTests: XCTestCase {
    struct Reference {
        var out: [Double], logSumExp: [Double], dqkv: [Double]
    }

    /// Naive attention of a batch (all in Double), and its gradients for the output gradient `dout`.
    func reference(qkv: [Float], dout: [Float], batch: RaggedBatch, shape: AttentionShape, slopes: [Float]?,
                   dropout: AttentionDropout?) -> Reference {
        let heads = shape.heads, d = shape.headDim, H = shape.hidden, H3 = 3 * H
        let scale = 1 / Double(d).squareRoot()
        var out = [Double](repeating: 0, count: batch.tokenCount * H)
        var lse = [Double](repeating: 0, count: batch.tokenCount * heads)
        var dqkv = [Double](repeating: 0, count: qkv.count)
        var probOffset = 0
        for s in 0..<batch.count {
            let L = batch.lengths[s], t0 = batch.starts[s]
            func q(_ i: Int, _ h: Int, _ c: Int) -> Double { Double(qkv[(t0 + i) * H3 + h * d + c]) }
            func k(_ j: Int, _ h: Int, _ c: Int) -> Double { Double(qkv[(t0 + j) * H3 + H + h * d + c]) }
            func v(_ j: Int, _ h: Int, _ c: Int) -> Double { Double(qkv[(t0 + j) * H3 + 2 * H + h * d + c]) }
            for h in 0..<heads {
                var p = [Double](repeating: 0, count: L * L), kept = [Double](repeating: 1, count: L * L)
                for i in 0..<L {
                    var row = (0..<L).map { j in
                        (0..<d).reduce(0.0) { $0 + q(i, h, $1) * k(j, h, $1) } * scale
                            - Double(slopes?[h] ?? 0) * Double(abs(i - j))
                    }
                    let mx = row.max()!
                    let sum = row.reduce(0) { $0 + exp($1 - mx) }
                    lse[heads * t0 + h * L + i] = mx + log(sum)
                    row = row.map { exp($0 - mx) / sum }
                    for j in 0..<L {
                        p[i * L + j] = row[j]
                        if let dropout {
                            let index = dropout.offset + probOffset + (h * L + i) * L + j
                            kept[i * L + j] = dropoutDraw(key: dropout.key, index: index) >= dropout.rate.threshold
                                ? Double(dropout.rate.scale) : 0
                        }
                    }
                }
                for i in 0..<L {
                    for c in 0..<d {
                        out[(t0 + i) * H + h * d + c] = (0..<L).reduce(0.0) { $0 + p[i * L + $1] * kept[i * L + $1] * v($1, h, c) }
                    }
                }
                // Backward through O = (P ⊙ kept) V and the row softmax.
                func dO(_ i: Int, _ c: Int) -> Double { Double(dout[(t0 + i) * H + h * d + c]) }
                for i in 0..<L {
                    var dp = (0..<L).map { j in (0..<d).reduce(0.0) { $0 + dO(i, $1) * v(j, h, $1) } * kept[i * L + j] }
                    let pdp = (0..<L).reduce(0.0) { $0 + p[i * L + $1] * dp[$1] }
                    for j in 0..<L { dp[j] = p[i * L + j] * (dp[j] - pdp) }
                    for j in 0..<L {
                        for c in 0..<d {
                            dqkv[(t0 + i) * H3 + h * d + c] += scale * dp[j] * k(j, h, c)
                            dqkv[(t0 + j) * H3 + H + h * d + c] += scale * dp[j] * q(i, h, c)
                            dqkv[(t0 + j) * H3 + 2 * H + h * d + c] += p[i * L + j] * kept[i * L + j] * dO(i, c)
                        }
                    }
                }
            }
            probOffset += heads * L * L
        }
        return Reference(out: out, logSumExp: lse, dqkv: dqkv)
    }

    func assertClose(_ a: [Float], _ b: [Double], tolerance: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(b.map { abs($0) }.max() ?? 0, 1e-6)
        var worst = 0.0, at = 0
        for i in 0..<min(a.count, b.count) where abs(Double(a[i]) - b[i]) > worst { worst = abs(Double(a[i]) - b[i]); at = i }
        XCTAssertLessThanOrEqual(worst / scale, tolerance, "\(what): element \(at) is \(a[at]), reference \(b[at]) (max |ref| \(scale))",
                                 file: file, line: line)
    }

    /// Tiled forward (output, log-sum-exp) and backward against the reference, sequences past one tile and odd.
    func check(lengths: [Int], headDim: Int, slopes: [Float]?, dropout: AttentionDropout?, file: StaticString = #filePath, line: UInt = #line) {
        let shape = AttentionShape(heads: 2, headDim: headDim), H = shape.hidden
        let batch = RaggedBatch(lengths: lengths)
        let qkv = randomFloats(batch.tokenCount * 3 * H, seed: 31, scale: 1.5)
        let dout = randomFloats(batch.tokenCount * H, seed: 32)
        var scratch = [Float](repeating: .nan, count: attentionScratchCount(batch))
        var out = [Float](repeating: .nan, count: batch.tokenCount * H)
        var lse = [Float](repeating: .nan, count: batch.tokenCount * shape.heads)
        var dqkv = [Float](repeating: .nan, count: qkv.count)
        attentionForward(&out, qkv: qkv, logSumExp: &lse, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: slopes, dropout: dropout)
        attentionBackward(dqkv: &dqkv, dout: dout, qkv: qkv, out: out, logSumExp: lse, scratch: &scratch, batch: batch,
                          shape: shape, alibiSlopes: slopes, dropout: dropout)
        let ref = reference(qkv: qkv, dout: dout, batch: batch, shape: shape, slopes: slopes, dropout: dropout)
        let what = "lengths \(lengths), head size \(headDim), alibi \(slopes != nil), dropout \(dropout?.rate.probability ?? 0)"
        assertClose(out, ref.out, tolerance: 1e-5, "output, " + what, file: file, line: line)
        assertClose(lse, ref.logSumExp, tolerance: 1e-5, "log-sum-exp, " + what, file: file, line: line)
        assertClose(dqkv, ref.dqkv, tolerance: 1e-4, "dqkv, " + what, file: file, line: line)
        // Inference (no log-sum-exp kept) gives the same output.
        var plain = [Float](repeating: .nan, count: out.count)
        attentionForward(&plain, qkv: qkv, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: slopes, dropout: dropout)
        XCTAssertEqual(plain, out, what, file: file, line: line)
    }

    let pastTiles = [attentionTileKeys + 1, 1, 2 * attentionTileQueries + 3, 2 * attentionTileKeys + 3]

    func testPastATileMatchesReference() {
        check(lengths: pastTiles, headDim: 8, slopes: nil, dropout: nil)
    }

    func testPastATileWithALiBiMatchesReference() {
        // Steep and shallow slopes: the row max moves between key tiles (the online rescale is exercised).
        check(lengths: pastTiles, headDim: 8, slopes: [0.5, 0.03], dropout: nil)
        check(lengths: [attentionTileQueries + 7, 3], headDim: 5, slopes: alibiSlopes(heads: 2), dropout: nil)
    }

    func testPastATileWithDropoutMatchesReference() {
        check(lengths: pastTiles, headDim: 8, slopes: nil, dropout: AttentionDropout(rate: DropoutRate(0.3), key: 77))
        check(lengths: [attentionTileKeys + 5, 2 * attentionTileQueries + 1], headDim: 5, slopes: [0.2, 0.01],
              dropout: AttentionDropout(rate: DropoutRate(0.5), key: 78, offset: 12_345))
    }

    /// Q = K = 0 (uniform 1/L) and V = identity per head: each output row is a row of the dropped probability
    /// matrix, which must be the mask that the documented index formula draws (with an offset added).
    func testDropoutMasksFollowTheIndexFormula() {
        let lengths = [2 * attentionTileKeys + 3, 4, attentionTileQueries + 1], heads = 2, L = lengths.max()!
        let shape = AttentionShape(heads: heads, headDim: L), H = shape.hidden
        let batch = RaggedBatch(lengths: lengths)
        var qkv = [Float](repeating: 0, count: batch.tokenCount * 3 * H)
        for s in 0..<batch.count {
            for i in 0..<lengths[s] { for h in 0..<heads { qkv[(batch.starts[s] + i) * 3 * H + 2 * H + h * L + i] = 1 } }
        }
        let dropout = AttentionDropout(rate: DropoutRate(0.25), key: 4242, offset: 1001)
        var out = [Float](repeating: .nan, count: batch.tokenCount * H)
        var scratch = [Float](repeating: .nan, count: attentionScratchCount(batch))
        attentionForward(&out, qkv: qkv, scratch: &scratch, batch: batch, shape: shape, alibiSlopes: nil, dropout: dropout)
        var probOffset = 0, mismatches = 0
        for s in 0..<batch.count {
            let n = lengths[s]
            for h in 0..<heads {
                for i in 0..<n {
                    for j in 0..<n {
                        let index = 1001 + probOffset + (h * n + i) * n + j
                        let kept = dropoutDraw(key: 4242, index: index) >= dropout.rate.threshold
                        let expected = kept ? dropout.rate.scale / Float(n) : 0
                        if abs(out[(batch.starts[s] + i) * H + h * L + j] - expected) > 1e-6 { mismatches += 1 }
                    }
                }
            }
            probOffset += heads * n * n
        }
        XCTAssertEqual(mismatches, 0)
    }

    func testScratchDoesNotGrowWithLength() {
        let long = attentionScratchCount(RaggedBatch(lengths: [8192]))
        XCTAssertEqual(long, attentionScratchCount(RaggedBatch(lengths: [1024, 3])))
        XCTAssertLessThan(attentionScratchCount(RaggedBatch(lengths: [16])), long)
    }
}

final class FarTileTests: XCTestCase {
    /// Under a steep slope a tile far from the diagonal is skipped, and its true probabilities are all below
    /// e^-60; the diagonal tile and any tile without ALiBi are never skipped.
    func testFarTilesAreSkippedOnlyWhenNegligible() {
        let L = 600, d = 8, ld = 3 * d, scale = 1 / Float(d).squareRoot(), slope: Float = 0.5
        let qkv = randomFloats(L * ld, seed: 41, scale: 1.5)
        qkv.withUnsafeBufferPointer { buffer in
            let q = buffer.baseAddress!, k = q + d
            var rowScale = [Float](repeating: 0, count: 128), rowDiagonal = rowScale
            farTileRowStats(q: q, k: k, ld: ld, rows: 0, count: 128, headDim: d, scale: scale, rowScale: &rowScale, rowDiagonal: &rowDiagonal)
            func far(_ j0: Int, _ c: Int, _ s: Float?) -> Bool {
                isFarTile(rows: 0, count: 128, keys: j0, count: c, keyNorm: farTileKeyNorm(k: k, ld: ld, keys: j0, count: c, headDim: d),
                          slope: s, rowScale: rowScale, rowDiagonal: rowDiagonal)
            }
            XCTAssertTrue(far(344, 256, slope))
            XCTAssertFalse(far(0, 256, slope), "diagonal tile")
            XCTAssertFalse(far(344, 256, nil), "no ALiBi")
            XCTAssertFalse(far(344, 256, 0.001), "shallow slope")
            // The skipped tile's probabilities, computed in full: all below e^-60.
            for i in 0..<128 {
                let scores = (0..<L).map { j in
                    Double(scale) * (0..<d).reduce(0.0) { $0 + Double(q[i * ld + $1]) * Double(k[j * ld + $1]) } - Double(slope) * Double(abs(i - j))
                }
                let mx = scores.max()!, lse = mx + log(scores.reduce(0) { $0 + exp($1 - mx) })
                for j in 344..<600 { XCTAssertLessThan(scores[j] - lse, -60) }
            }
        }
    }
}
