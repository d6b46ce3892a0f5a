import LodestoneBase

/// xoshiro256** seeded through SplitMix64: fast, good statistically, and — unlike `SystemRandomNumberGenerator` —
/// its whole state is four numbers that a checkpoint saves, so a resumed run draws exactly what an unbroken one would.
public struct SeededGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        state = [seeder.next(), seeder.next(), seeder.next(), seeder.next()]
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode([UInt64].self)
        guard s.count == 4, s.contains(where: { $0 != 0 }) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "generator state must be 4 numbers, not all 0")
        }
        state = s
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(state)
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]; state[3] ^= state[1]; state[1] ^= state[2]; state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Index i drawn with probability weights[i] / sum(weights); weights must not all be zero.
    public mutating func pick(weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var r = nextUnit() * total
        for (i, w) in weights.enumerated() where w > 0 {
            if r < w { return i }
            r -= w
        }
        return weights.lastIndex(where: { $0 > 0 }) ?? 0
    }
}
