// How a step's rows are divided among the ranks. Each rank encodes a contiguous slice, so the all-gathered
// embeddings are in the batch's own order; a slice ends where the cost before it comes nearest to the ranks'
// shares so far. A row's cost counts attention, which grows with the square of its length, and under
// `.measured` each rank's share follows how fast it actually went (a rank on a busier core gets fewer rows).
// Every rank computes every slice from the same numbers, so they agree without talking.
import Dispatch

/// How a step's rows are divided among the ranks.
public enum SliceBalance: String, Sendable {
    /// Equal shares of the cost model (`RowCost`): the same slices for the same batch, run after run.
    case cost
    /// Shares in proportion to each rank's speed (cost per second) measured on the steps before, shared among the
    /// ranks after each step. Adapts to ranks that run slower (other load, another machine), at the price of
    /// bit-reproducibility between runs: the slices, hence the float sums' order, follow the timings.
    case measured
}

/// What training a row of L tokens costs, in tokens: L + L²/`attentionLength`. Per token and layer the GEMMs do
/// 2(4H² + 3IH) multiply-adds for MosaicBERT (gated FFN; 2(4H² + 2IH) for BERT) and attention's QKᵀ and PV
/// 4LH, so attention costs as much as the GEMMs at L = (4H + 3I)/2 (MosaicBERT-base: 6144 tokens).
public struct RowCost: Sendable {
    public let attentionLength: Double

    public init(config c: EncoderConfig) {
        attentionLength = Double(4 * c.hidden + (c.isMosaic ? 3 : 2) * c.intermediate) / 2
    }

    public func callAsFunction(_ length: Int) -> Double {
        let l = Double(length)
        return l + l * l / attentionLength
    }
}

/// Contiguous slices of rows of `costs`, one per weight: slice r ends where the cost before it comes nearest to
/// the total times the weights of ranks 0…r over all weights.
public func rankSlices(costs: [Double], weights: [Double]) -> [Range<Int>] {
    let size = weights.count
    guard size > 1 else { return [0..<costs.count] }
    let total = costs.reduce(0, +), weightSum = weights.reduce(0, +)
    var cuts = [0]
    var share = 0.0
    for r in 0..<(size - 1) {
        share += weights[r]
        let target = total * share / weightSum
        var best = cuts.last!, bestGap = Double.infinity, before = 0.0
        for i in 0...costs.count {
            let gap = abs(before - target)
            if i >= cuts.last!, gap < bestGap { best = i; bestGap = gap }
            if i < costs.count { before += costs[i] }
        }
        cuts.append(best)
    }
    cuts.append(costs.count)
    return (0..<size).map { cuts[$0]..<cuts[$0 + 1] }
}

/// The rows rank `rank` of `size` encodes when every row costs its tokens and the ranks share equally.
public func rankRows(lengths: [Int], rank: Int, size: Int) -> Range<Int> {
    rankSlices(costs: lengths.map(Double.init), weights: Array(repeating: 1, count: size))[rank]
}

/// Wall-clock seconds of a rank's own compute in a step, paused around the collectives that wait for the others.
final class ComputeClock {
    private var started: UInt64? = DispatchTime.now().uptimeNanoseconds
    private(set) var seconds = 0.0

    func pause() {
        guard let started else { return }
        seconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        self.started = nil
    }

    func resume() { if started == nil { started = DispatchTime.now().uptimeNanoseconds } }
}
