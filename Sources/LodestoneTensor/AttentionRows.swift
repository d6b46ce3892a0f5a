// Row passes over one tile of attention scores, eight lanes at a time. The ALiBi bias −slope·|i − j| is made
// from the row's query position and the tile's first key, so no bias matrix is ever stored.

/// Exponents below this give probability 0 rather than e^x: far keys under a steep ALiBi slope would
/// otherwise leave values near Float's smallest normal, whose products in the sgemms are subnormal and run
/// many times slower. e^-60 ≈ 1e-26 is far below a float's resolution next to the row's largest term.
private let smallestExponent: Float = -60

/// e^x, or 0 below `smallestExponent`.
@inline(__always) private func probabilityExp8(_ x: Float8) -> Float8 {
    fastExp8(x).replacing(with: 0, where: x .< smallestExponent)
}

@inline(__always) private func probabilityExp(_ x: Float) -> Float { x < smallestExponent ? 0 : fastExp(x) }

/// Key offsets 0…7 of one eight-lane step.
private let laneOffsets = Float8(0, 1, 2, 3, 4, 5, 6, 7)

@inline(__always) private func absolute(_ x: Float8) -> Float8 {
    unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Float8.self)
}

/// row[j] −= slope · |query − (keyStart + j)| (nothing when slope is nil) for j < count; returns the row's max.
@inline(__always) func addAlibiAndMax(_ row: UnsafeMutablePointer<Float>, count c: Int, slope: Float?,
                                      query i: Int, keyStart j0: Int) -> Float {
    let c8 = c & ~7
    var mx8 = Float8(repeating: -.infinity)
    var mx = -Float.infinity
    if let slope {
        let s8 = Float8(repeating: slope), first = Float(j0 - i)
        var j = 0
        while j < c8 {
            let v = load8(row + j) - s8 * absolute(laneOffsets + (first + Float(j)))
            store8(v, row + j)
            mx8 = mx8.replacing(with: v, where: v .> mx8)
            j += 8
        }
        while j < c { row[j] -= slope * Float(abs(j0 + j - i)); mx = max(mx, row[j]); j += 1 }
    } else {
        var j = 0
        while j < c8 { let v = load8(row + j); mx8 = mx8.replacing(with: v, where: v .> mx8); j += 8 }
        while j < c { mx = max(mx, row[j]); j += 1 }
    }
    return max(mx, mx8.max())
}

/// row[j] = e^(row[j] − shift); returns Σ row.
@inline(__always) func expAndSum(_ row: UnsafeMutablePointer<Float>, count c: Int, shift: Float) -> Float {
    let c8 = c & ~7, m8 = Float8(repeating: shift)
    var sum8 = Float8(repeating: 0)
    var j = 0
    while j < c8 { let e = probabilityExp8(load8(row + j) - m8); store8(e, row + j); sum8 += e; j += 8 }
    var sum = sum8.sum()
    while j < c { let e = probabilityExp(row[j] - shift); row[j] = e; sum += e; j += 1 }
    return sum
}

/// row[j] = e^(row[j] − slope·|query − (keyStart + j)| − logSumExp): the softmax probabilities of a score
/// row from its log-sum-exp, with no max or sum pass.
@inline(__always) func probabilitiesFromLogSumExp(_ row: UnsafeMutablePointer<Float>, count c: Int, slope: Float?,
                                                  query i: Int, keyStart j0: Int, logSumExp: Float) {
    let c8 = c & ~7, lse8 = Float8(repeating: logSumExp)
    let s8 = Float8(repeating: slope ?? 0), first = Float(j0 - i), s = slope ?? 0
    var j = 0
    while j < c8 {
        let bias = s8 * absolute(laneOffsets + (first + Float(j)))
        store8(probabilityExp8(load8(row + j) - bias - lse8), row + j)
        j += 8
    }
    while j < c { row[j] = probabilityExp(row[j] - s * Float(abs(j0 + j - i)) - logSumExp); j += 1 }
}

/// dp[j] = p[j] · (dp[j] − rowDot): the softmax backward (rowDot = Σ_j p_j dp_j).
@inline(__always) func softmaxGradientRow(_ dp: UnsafeMutablePointer<Float>, p: UnsafePointer<Float>, count c: Int,
                                          rowDot: Float) {
    let c8 = c & ~7, d8 = Float8(repeating: rowDot)
    var j = 0
    while j < c8 { store8(load8(p + j) * (load8(dp + j) - d8), dp + j); j += 8 }
    while j < c { dp[j] = p[j] * (dp[j] - rowDot); j += 1 }
}

/// x[j] *= factor for j < count.
@inline(__always) func scaleRow(_ x: UnsafeMutablePointer<Float>, count n: Int, by factor: Float) {
    for j in 0..<n { x[j] *= factor }
}

/// Σ a[j] b[j] over count elements.
@inline(__always) func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
    let n8 = n & ~7
    var s8 = Float8(repeating: 0)
    var j = 0
    while j < n8 { s8 += load8(a + j) * load8(b + j); j += 8 }
    var s = s8.sum()
    while j < n { s += a[j] * b[j]; j += 1 }
    return s
}
