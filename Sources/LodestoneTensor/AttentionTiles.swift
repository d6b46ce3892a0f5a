// The tiled passes of one (sequence, head) of attention, forward and backward side by side. A tile is
// `rows` queries × `cols` keys; its scores, the probabilities made from them and dP live in per-thread
// scratch of a fixed size, small enough to stay in L2 while the tile's GEMMs and row passes run over it.
import COpenBLAS
import Foundation

/// Queries per tile (the longest tile side that still keeps a tile pair and its Q, K, V blocks in L2).
public let attentionTileQueries = 128
/// Keys per tile.
public let attentionTileKeys = 256

/// Tile sizes to use instead of the defaults (`lodestone-bench --attention-tiles`, for sweeps); set it before any
/// scratch is sized, since `attentionScratchCount` follows it.
nonisolated(unsafe) public var attentionTileOverride: (queries: Int, keys: Int)? = nil

/// Tile sizes for a batch: the defaults, or the longest sequence when it is shorter.
struct AttentionTiles {
    let rows: Int, cols: Int
    init(maxLength: Int) {
        let (queries, keys) = attentionTileOverride ?? (attentionTileQueries, attentionTileKeys)
        rows = min(queries, max(maxLength, 1))
        cols = min(keys, max(maxLength, 1))
    }
    /// Two rows × cols tiles (S or P, and dP) and four row vectors (running max and sum, or D; and the two
    /// far-tile row bounds).
    var scratchPerThread: Int { 2 * rows * cols + 4 * rows }
}

/// One (sequence, head): where its Q, K, V, output and log-sum-exp rows lie and how it is biased and dropped.
struct AttentionHead {
    let L: Int, d: Int, hidden: Int, h3: Int
    let q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>
    /// Offset of row 0 of this head in [T, hidden] tensors (out, dout) and in [T, 3·hidden] ones (qkv, dqkv).
    let outOffset: Int, qkvOffset: Int
    /// Index of row 0 of this head in the log-sum-exp buffer.
    let lseOffset: Int
    /// Draw index of probability (0, 0) of this head: probOffset_s + h·L².
    let drawOffset: Int
    let scale: Float
    let slope: Float?
    let dropout: AttentionDropout?
    let precision: MatmulPrecision

    init(batch: RaggedBatch, shape: AttentionShape, sequence s: Int, head h: Int, qkv: UnsafePointer<Float>,
         slope: Float?, dropout: AttentionDropout?, probOffset: Int) {
        L = batch.lengths[s]; d = shape.headDim; hidden = shape.hidden; h3 = 3 * hidden
        let t0 = batch.starts[s]
        outOffset = t0 * hidden + h * d
        qkvOffset = t0 * h3 + h * d
        q = qkv + qkvOffset; k = q + hidden; v = q + 2 * hidden
        lseOffset = shape.heads * t0 + h * L
        drawOffset = probOffset + h * L * L
        scale = 1 / Float(d).squareRoot()
        self.slope = slope
        self.dropout = dropout
        precision = shape.precision
    }

    /// Query blocks; for each, key blocks with an online softmax: m (running row max) and l (running Σ exp
    /// relative to m); O accumulates P V in `out` itself and is rescaled by e^(m_old − m_new) when m grows.
    func forward(out: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>?, tiles: AttentionTiles,
                 scratch: UnsafeMutablePointer<Float>) {
        let o = out + outOffset
        let S = scratch, m = scratch + 2 * tiles.rows * tiles.cols, l = m + tiles.rows
        let rowScale = l + tiles.rows, rowDiagonal = rowScale + tiles.rows
        for i0 in stride(from: 0, to: L, by: tiles.rows) {
            let r = min(tiles.rows, L - i0)
            if slope != nil {
                farTileRowStats(q: q, k: k, ld: h3, rows: i0, count: r, headDim: d, scale: scale,
                                rowScale: rowScale, rowDiagonal: rowDiagonal)
            }
            var first = true // no key tile taken yet for these rows (skipped ones leave m, l and O untouched)
            for j0 in stride(from: 0, to: L, by: tiles.cols) {
                let c = min(tiles.cols, L - j0)
                if slope != nil, isFarTile(rows: i0, count: r, keys: j0, count: c,
                                           keyNorm: farTileKeyNorm(k: k, ld: h3, keys: j0, count: c, headDim: d),
                                           slope: slope, rowScale: rowScale, rowDiagonal: rowDiagonal) { continue }
                gemm(precision, transA: false, transB: true, m: r, n: c, k: d, alpha: scale,
                     q + i0 * h3, lda: h3, k + j0 * h3, ldb: h3, beta: 0, S, ldc: c)
                for ii in 0..<r {
                    let row = S + ii * c, i = i0 + ii
                    let rowMax = addAlibiAndMax(row, count: c, slope: slope, query: i, keyStart: j0)
                    if first {
                        m[ii] = rowMax
                        l[ii] = expAndSum(row, count: c, shift: rowMax)
                    } else {
                        let mNew = max(m[ii], rowMax)
                        let alpha = Foundation.exp(m[ii] - mNew)
                        l[ii] = l[ii] * alpha + expAndSum(row, count: c, shift: mNew)
                        if alpha != 1 { scaleRow(o + i * hidden, count: d, by: alpha) }
                        m[ii] = mNew
                    }
                    // The sum above is of undropped P: dropout scales what reaches V, not the normaliser.
                    dropout?.apply(row, count: c, start: drawOffset + i * L + j0)
                }
                gemm(precision, transA: false, transB: false, m: r, n: d, k: c, alpha: 1,
                     S, lda: c, v + j0 * h3, ldb: h3, beta: first ? 0 : 1, o + i0 * hidden, ldc: hidden)
                first = false
            }
            for ii in 0..<r {
                scaleRow(o + (i0 + ii) * hidden, count: d, by: 1 / l[ii])
                logSumExp?[lseOffset + i0 + ii] = m[ii] + Foundation.log(l[ii])
            }
        }
    }

    /// Key blocks outside (dK, dV of the block accumulate while it is hot), query blocks inside (dQ accumulates
    /// over key blocks). Each tile: P = exp(S − lse), dP = dO Vᵀ, dS = P ⊙ (dP − D), then three sgemms.
    func backward(dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, out: UnsafePointer<Float>,
                  logSumExp: UnsafePointer<Float>, tiles: AttentionTiles, scratch: UnsafeMutablePointer<Float>) {
        let dq = dqkv + qkvOffset, dk = dq + hidden, dv = dq + 2 * hidden
        let dO = dout + outOffset, o = out + outOffset, lse = logSumExp + lseOffset
        let P = scratch, dP = scratch + tiles.rows * tiles.cols, D = dP + tiles.rows * tiles.cols
        let rowScale = D + tiles.rows, rowDiagonal = rowScale + tiles.rows
        // Far tiles add nothing, so every gradient starts at zero and each tile accumulates (beta 1).
        for t in 0..<L {
            (dq + t * h3).update(repeating: 0, count: d)
            (dk + t * h3).update(repeating: 0, count: d)
            (dv + t * h3).update(repeating: 0, count: d)
        }
        for j0 in stride(from: 0, to: L, by: tiles.cols) {
            let c = min(tiles.cols, L - j0)
            let keyNorm = slope == nil ? 0 : farTileKeyNorm(k: k, ld: h3, keys: j0, count: c, headDim: d)
            for i0 in stride(from: 0, to: L, by: tiles.rows) {
                let r = min(tiles.rows, L - i0)
                if slope != nil {
                    farTileRowStats(q: q, k: k, ld: h3, rows: i0, count: r, headDim: d, scale: scale,
                                    rowScale: rowScale, rowDiagonal: rowDiagonal)
                    if isFarTile(rows: i0, count: r, keys: j0, count: c, keyNorm: keyNorm, slope: slope,
                                 rowScale: rowScale, rowDiagonal: rowDiagonal) { continue }
                }
                // D_i = rowsum(dO ⊙ O) = Σ_j P_ij dP_ij (recomputed per key block: r·d work against r·c·d).
                for ii in 0..<r { D[ii] = dot(dO + (i0 + ii) * hidden, o + (i0 + ii) * hidden, count: d) }
                gemm(precision, transA: false, transB: true, m: r, n: c, k: d, alpha: scale,
                     q + i0 * h3, lda: h3, k + j0 * h3, ldb: h3, beta: 0, P, ldc: c)
                gemm(precision, transA: false, transB: true, m: r, n: c, k: d, alpha: 1,
                     dO + i0 * hidden, lda: hidden, v + j0 * h3, ldb: h3, beta: 0, dP, ldc: c)
                for ii in 0..<r {
                    let i = i0 + ii, pRow = P + ii * c, dpRow = dP + ii * c
                    probabilitiesFromLogSumExp(pRow, count: c, slope: slope, query: i, keyStart: j0, logSumExp: lse[i])
                    dropout?.apply(dpRow, count: c, start: drawOffset + i * L + j0)
                    softmaxGradientRow(dpRow, p: pRow, count: c, rowDot: D[ii])
                    dropout?.apply(pRow, count: c, start: drawOffset + i * L + j0) // P ⊙ M for dV
                }
                // dV_j += (P⊙M)ᵀ dO_i ; dQ_i += scale · dS K_j ; dK_j += scale · dSᵀ Q_i
                gemm(precision, transA: true, transB: false, m: c, n: d, k: r, alpha: 1,
                     P, lda: c, dO + i0 * hidden, ldb: hidden, beta: 1, dv + j0 * h3, ldc: h3)
                gemm(precision, transA: false, transB: false, m: r, n: d, k: c, alpha: scale,
                     dP, lda: c, k + j0 * h3, ldb: h3, beta: 1, dq + i0 * h3, ldc: h3)
                gemm(precision, transA: true, transB: false, m: c, n: d, k: r, alpha: scale,
                     dP, lda: c, q + i0 * h3, ldb: h3, beta: 1, dk + j0 * h3, ldc: h3)
            }
        }
    }
}
