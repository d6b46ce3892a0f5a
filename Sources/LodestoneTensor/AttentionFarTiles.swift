// Tiles that ALiBi makes negligible. With bias −slope·|i − j|, a key far from a query gets a probability
// below e^-60 (which the row passes set to 0 anyway) and can be skipped without computing its scores:
//   P_ij = e^(S_ij − slope·|i−j| − lse_i) ≤ e^(scale·‖q_i‖·‖k_j‖ − slope·|i−j| − scale·q_i·k_i),
// since lse_i ≥ the row max ≥ the diagonal score S_ii (bias 0). A tile is skipped when this bound is below
// e^-61 for every entry (one unit of margin for rounding), so the backward pass skips exactly the tiles whose
// P it would have computed as 0, and the forward pass leaves out terms under 1e-26 of the row's largest.
// The diagonal tile is never skipped (there the bound is ≥ 0 by Cauchy–Schwarz).

/// Exponent bound below which a tile is skipped.
private let negligibleExponent: Float = -61

/// rowScale[ii] = scale·‖q_i‖ and rowDiagonal[ii] = scale·q_i·k_i for rows i0 ..< i0 + r.
@inline(__always) func farTileRowStats(q: UnsafePointer<Float>, k: UnsafePointer<Float>, ld: Int, rows i0: Int, count r: Int,
                                       headDim d: Int, scale: Float, rowScale: UnsafeMutablePointer<Float>,
                                       rowDiagonal: UnsafeMutablePointer<Float>) {
    for ii in 0..<r {
        let qi = q + (i0 + ii) * ld
        rowScale[ii] = scale * dot(qi, qi, count: d).squareRoot()
        rowDiagonal[ii] = scale * dot(qi, k + (i0 + ii) * ld, count: d)
    }
}

/// max ‖k_j‖ over keys j0 ..< j0 + c.
@inline(__always) func farTileKeyNorm(k: UnsafePointer<Float>, ld: Int, keys j0: Int, count c: Int, headDim d: Int) -> Float {
    var m: Float = 0
    for j in j0..<(j0 + c) { let kj = k + j * ld; m = max(m, dot(kj, kj, count: d)) }
    return m.squareRoot()
}

/// Whether every probability of the tile (rows i0 ..< i0 + r, keys j0 ..< j0 + c) is provably below e^-61.
@inline(__always) func isFarTile(rows i0: Int, count r: Int, keys j0: Int, count c: Int, keyNorm: Float, slope: Float?,
                                 rowScale: UnsafePointer<Float>, rowDiagonal: UnsafePointer<Float>) -> Bool {
    guard let slope, slope > 0, i0 + r <= j0 || j0 + c <= i0 else { return false }
    for ii in 0..<r {
        let i = i0 + ii
        let distance = i < j0 ? j0 - i : i - (j0 + c - 1)
        if rowScale[ii] * keyNorm - slope * Float(distance) - rowDiagonal[ii] >= negligibleExponent { return false }
    }
    return true
}
