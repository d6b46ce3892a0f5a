// Inverted dropout (PyTorch's nn.Dropout in train mode): each element is zeroed with probability p and the
// kept ones are scaled by 1/(1−p), so the expectation is unchanged. The draws are counter-based: element i of
// a stream draws the 32-bit half (i & 1) of SplitMix64's mix of (key, i / 2). Nothing is carried from draw to
// draw, so any thread can draw any range, the backward pass can regenerate a mask instead of storing it, and a
// mask depends only on (key, index) — a step's seed fixes every mask of the step.
// Forward keeps the mask as bits (one UInt64 per 64 elements) for the backward pass to reuse.

/// A dropout probability as the kernels apply it.
public struct DropoutRate: Sendable, Equatable {
    public let probability: Float
    /// An element is dropped when its 32-bit draw is below this (probability · 2³²).
    public let threshold: UInt32
    /// 1 / (1 − probability): the kept elements' scale.
    public let scale: Float

    /// `probability` in [0, 1).
    public init(_ probability: Float) {
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) outside [0, 1)")
        self.probability = probability
        threshold = UInt32((Double(probability) * 0x1p32).rounded())
        scale = 1 / (1 - probability)
    }
}

/// SplitMix64's output function at position `counter` of the stream `key`.
@inline(__always) func dropoutMix(_ key: UInt64, _ counter: UInt64) -> UInt64 {
    var z = key &+ (counter &+ 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// The 32-bit draw of element `index` of stream `key`.
@inline(__always) public func dropoutDraw(key: UInt64, index: Int) -> UInt32 {
    UInt32(truncatingIfNeeded: dropoutMix(key, UInt64(index) >> 1) >> (UInt64(index & 1) << 5))
}

/// A stream key for one use of dropout in a step: the step's seed mixed with site numbers (layer, place).
public func dropoutKey(seed: UInt64, _ parts: Int...) -> UInt64 {
    var k = dropoutMix(seed, 0x5EED)
    for p in parts { k = dropoutMix(k, UInt64(truncatingIfNeeded: p)) }
    return k
}

/// UInt64 words holding a mask of `count` elements.
public func dropoutMaskWords(_ count: Int) -> Int { (count + 63) / 64 }

/// x[i] = kept ? x[i] · scale : 0 for `count` elements; mask bit i (word i / 64, bit i % 64) = kept.
/// Element i draws index `start + i` of the stream, so a slice of a larger tensor (a mini-batch's rows) drops
/// exactly what the whole tensor would at those elements.
public func dropoutForward(_ x: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<UInt64>, count: Int,
                           rate: DropoutRate, key: UInt64, start: Int = 0) {
    let words = dropoutMaskWords(count), threshold = rate.threshold, scale = rate.scale
    parallelRanges(words, minPerPart: 256) { range in
        for w in range {
            var bits: UInt64 = 0
            let first = start + w * 64
            if first & 1 == 0 {
                for pair in 0..<32 {   // one mix gives the draws of two neighbours
                    let z = dropoutMix(key, UInt64(first >> 1 + pair))
                    let lo: UInt64 = UInt32(truncatingIfNeeded: z) >= threshold ? 1 : 0
                    let hi: UInt64 = UInt32(truncatingIfNeeded: z >> 32) >= threshold ? 1 : 0
                    bits |= (lo | hi << 1) << UInt64(2 * pair)
                }
            } else {
                for j in 0..<64 where dropoutDraw(key: key, index: first + j) >= threshold { bits |= 1 << UInt64(j) }
            }
            let n = min(64, count - w * 64)
            if n < 64 { bits &= (1 << UInt64(n)) - 1 }
            mask[w] = bits
            applyMaskWord(x + w * 64, x + w * 64, bits: bits, count: n, scale: scale)
        }
    }
}

/// Backward of `dropoutForward`: dx[i] = kept ? dout[i] · scale : 0 with the forward's mask (dx may alias dout).
public func dropoutBackward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, mask: UnsafePointer<UInt64>,
                            count: Int, rate: DropoutRate) {
    let scale = rate.scale
    parallelRanges(dropoutMaskWords(count), minPerPart: 256) { range in
        for w in range {
            let start = w * 64
            applyMaskWord(dx + start, dout + start, bits: mask[w], count: min(64, count - start), scale: scale)
        }
    }
}

/// out[j] = bit j of `bits` ? inp[j] · scale : 0 for j < count (out may alias inp).
@inline(__always) func applyMaskWord(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, bits: UInt64,
                                     count: Int, scale: Float) {
    for j in 0..<count {
        out[j] = (bits >> UInt64(j)) & 1 == 1 ? inp[j] * scale : 0
    }
}

/// Dropout regenerated rather than stored: x[i] = kept(start + i) ? x[i] · scale : 0, the draws of elements
/// start ..< start + count of stream `key`. The attention kernels use it on each L × L probability matrix,
/// which is recomputed in the backward pass and too large to keep a mask of.
@inline(__always) public func dropoutInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, rate: DropoutRate,
                                             key: UInt64, start: Int) {
    let threshold = rate.threshold, scale = rate.scale
    var i = 0
    if start & 1 == 1, count > 0 {
        x[0] = dropoutDraw(key: key, index: start) >= threshold ? x[0] * scale : 0
        i = 1
    }
    while i + 2 <= count {
        let z = dropoutMix(key, UInt64(start + i) >> 1)
        x[i] = UInt32(truncatingIfNeeded: z) >= threshold ? x[i] * scale : 0
        x[i + 1] = UInt32(truncatingIfNeeded: z >> 32) >= threshold ? x[i + 1] * scale : 0
        i += 2
    }
    if i < count { x[i] = dropoutDraw(key: key, index: start + i) >= threshold ? x[i] * scale : 0 }
}
