// Branch-free exp and erf that the compiler vectorizes (no libm calls in the inner loops), and a two-way
// split of row loops across cores. GELU and softmax otherwise cost a large fraction of the sgemm time.
import Dispatch

/// e^x with Cephes' expf polynomial: relative error ~2 ulp on [-87, 88]; clamps outside.
@inline(__always) public func fastExp(_ x: Float) -> Float {
    let c = min(max(x, -87.33), 88.72)
    // Round to nearest by adding and subtracting 1.5·2²³ (plain arithmetic, so the loop stays vectorized;
    // .rounded() would call rintf through the PLT).
    let big = c * 1.442_695_04 + 12_582_912
    let n = big - 12_582_912
    let r = c - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 0.166_666_655
    p = p * r + 0.500_000_01
    let er = p * r * r + r + 1
    // 2ⁿ from big's low mantissa bits, as fastExp8 does: Int32(n) would be a checked conversion in every call.
    return er * Float(bitPattern: (big.bitPattern &- 0x4B40_0000 &+ 127) << 23)
}

/// Φ(x) (standard normal CDF) and φ(x) sharing one exp: erf by Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7).
@inline(__always) func normalCdfPdf(_ x: Float) -> (cdf: Float, pdf: Float) {
    let e = fastExp(-0.5 * x * x)             // = exp(-(x/√2)²)
    let z = abs(x) * 0.707_106_781_186_547_52
    let t = 1 / (1 + 0.327_591_1 * z)
    let poly = t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))))
    let erfAbs = 1 - poly * e
    let erf = x < 0 ? -erfAbs : erfAbs
    return (0.5 * (1 + erf), e * 0.398_942_280_401_432_68)
}

/// Runs body over [0, count) split into `parts` contiguous ranges on separate threads when the work is large.
@inline(__always) public func parallelRanges(_ count: Int, minPerPart: Int = 4096, parts: Int = computeThreads,
                                             _ body: (Range<Int>) -> Void) {
    let n = min(parts, count / max(minPerPart, 1))
    if n <= 1 { body(0..<count); return }
    DispatchQueue.concurrentPerform(iterations: n) { i in
        body((count * i / n)..<(count * (i + 1) / n))
    }
}

/// Threads used by the element-wise kernels (set with the BLAS threads by `setBLASThreads`).
nonisolated(unsafe) public var computeThreads = 2

// Eight-lane versions of the above. Swift does not reassociate float reductions nor vectorize through
// min/max and selects, so the scalar loops ran one element at a time; these run 8 lanes (2 SSE registers).
public typealias Float8 = SIMD8<Float>

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> Float8 {
    UnsafeRawPointer(p).loadUnaligned(as: Float8.self)
}

@inline(__always) func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self)
}

/// `fastExp` on 8 lanes (same polynomial; 2ⁿ built from the rounding constant's low mantissa bits).
@inline(__always) func fastExp8(_ x: Float8) -> Float8 {
    // Selects rather than clamped(): pointwiseMin/Max were not inlined.
    let lo = Float8(repeating: -87.33), hi = Float8(repeating: 88.72)
    var c = x.replacing(with: lo, where: x .< lo)
    c = c.replacing(with: hi, where: c .> hi)
    let big = c * 1.442_695_04 + 12_582_912
    let n = big - 12_582_912
    let r = c - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p = Float8(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 0.166_666_655
    p = p * r + 0.500_000_01
    let er = p * r * r + r + 1
    // big's bits = 0x4B400000 + n for |n| < 2²², so (bits − 0x4B400000 + 127) << 23 is 2ⁿ.
    let bits = unsafeBitCast(big, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127
    return er * unsafeBitCast(bits &<< 23, to: Float8.self)
}

/// `normalCdfPdf` on 8 lanes: Φ(x) and φ(x) sharing one exp.
@inline(__always) func normalCdfPdf8(_ x: Float8) -> (cdf: Float8, pdf: Float8) {
    let e = fastExp8(-0.5 * x * x)
    let absX = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Float8.self)
    let z = absX * 0.707_106_781_186_547_52
    let t = 1 / (1 + 0.327_591_1 * z)
    let poly = t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))))
    let erfAbs = 1 - poly * e
    let erf = erfAbs.replacing(with: -erfAbs, where: x .< 0)
    return (0.5 * (1 + erf), e * 0.398_942_280_401_432_68)
}

/// gelu(x) = x Φ(x) on 8 lanes.
@inline(__always) func gelu8(_ x: Float8) -> Float8 { x * normalCdfPdf8(x).cdf }
