// Feed-forward activations: exact GELU (erf form, PyTorch's default) and MosaicBERT's gated GELU,
// where gated_layers produces [gated | non-gated] halves and the output is gelu(gated) * non_gated.

@inline(__always) func geluValue(_ x: Float) -> Float { x * normalCdfPdf(x).cdf }

/// d gelu(x) / dx = Φ(x) + x φ(x).
@inline(__always) func geluDerivative(_ x: Float) -> Float {
    let (cdf, pdf) = normalCdfPdf(x)
    return cdf + x * pdf
}

/// out[n] = gelu(inp[n]).
public func geluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    parallelRanges(count) { r in
        var i = r.lowerBound
        while i + 8 <= r.upperBound { store8(gelu8(load8(inp + i)), out + i); i += 8 }
        while i < r.upperBound { out[i] = geluValue(inp[i]); i += 1 }
    }
}

/// dinp[n] = dout[n] * gelu'(inp[n]) (overwritten; may alias dout).
/// dinp may alias inp (each element is read before it is written).
public func geluBackward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                         inp: UnsafePointer<Float>, count: Int) {
    parallelRanges(count) { r in
        var i = r.lowerBound
        while i + 8 <= r.upperBound {
            let x = load8(inp + i), (cdf, pdf) = normalCdfPdf8(x)
            store8(load8(dout + i) * (cdf + x * pdf), dinp + i); i += 8
        }
        while i < r.upperBound { dinp[i] = dout[i] * geluDerivative(inp[i]); i += 1 }
    }
}

/// inp[rows, 2·inner] = [gated | nonGated]; out[rows, inner] = gelu(gated) * nonGated.
public func gatedGeluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int, inner: Int) {
    parallelRanges(rows, minPerPart: 8) { range in
        for r in range {
            let g = inp + r * 2 * inner, o = out + r * inner
            var i = 0
            while i + 8 <= inner { store8(gelu8(load8(g + i)) * load8(g + inner + i), o + i); i += 8 }
            while i < inner { o[i] = geluValue(g[i]) * g[inner + i]; i += 1 }
        }
    }
}

/// Backward of `gatedGeluForward`: dinp[rows, 2·inner] overwritten.
/// dinp may alias inp (each row's pair is read before it is written).
public func gatedGeluBackward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              inp: UnsafePointer<Float>, rows: Int, inner: Int) {
    parallelRanges(rows, minPerPart: 8) { range in
        for r in range {
            let g = inp + r * 2 * inner, d = dout + r * inner, di = dinp + r * 2 * inner
            var i = 0
            while i + 8 <= inner {   // 8 lanes: the scalar loop did not vectorize through normalCdfPdf
                let gate = load8(g + i), lin = load8(g + inner + i), dd = load8(d + i)
                let (cdf, pdf) = normalCdfPdf8(gate)
                store8(dd * lin * (cdf + gate * pdf), di + i)
                store8(dd * gate * cdf, di + inner + i)
                i += 8
            }
            while i < inner {
                let gate = g[i], lin = g[inner + i]
                let (cdf, pdf) = normalCdfPdf(gate)
                di[i] = d[i] * lin * (cdf + gate * pdf)
                di[inner + i] = d[i] * gate * cdf
                i += 1
            }
        }
    }
}
