// Finite-difference helper: compares an analytic gradient with central differences of a scalar loss.
import XCTest

/// Deterministic pseudo-random floats in [-scale, scale].
func randomFloats(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
}

/// For up to `samples` indices of `values`, checks analytic[i] ≈ (loss(v + eps·eᵢ) − loss(v − eps·eᵢ)) / 2eps.
func checkGradient(_ what: String, values: inout [Float], analytic: [Float], eps: Float = 1e-2,
                   abs: Double = 1e-3, rel: Double = 1e-2, samples: Int = 64,
                   file: StaticString = #filePath, line: UInt = #line, loss: ([Float]) -> Double) {
    XCTAssertEqual(values.count, analytic.count, "\(what): sizes", file: file, line: line)
    let stride = max(1, values.count / samples)
    var checked = 0
    for i in Swift.stride(from: 0, to: values.count, by: stride) {
        let old = values[i]
        values[i] = old + eps; let up = loss(values)
        values[i] = old - eps; let down = loss(values)
        values[i] = old
        let fd = (up - down) / Double(2 * eps)
        let tol = max(abs, rel * Swift.abs(fd))
        if Swift.abs(fd - Double(analytic[i])) > tol {
            XCTFail("\(what)[\(i)]: analytic \(analytic[i]) vs finite difference \(fd)", file: file, line: line)
            return
        }
        checked += 1
    }
    XCTAssertGreaterThan(checked, 0, file: file, line: line)
}

/// Σ r ⊙ out in Double: a scalar loss whose gradient w.r.t. out is r.
func weightedSum(_ out: [Float], _ r: [Float]) -> Double {
    var s: Double = 0
    for i in 0..<out.count { s += Double(out[i]) * Double(r[i]) }
    return s
}
