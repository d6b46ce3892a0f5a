// The ranks' gradient sum overlapped with backward. Backward runs from the last layer to the first, and once a
// layer's backward is done its gradients are final on this rank (nothing later adds into a layer's range: the
// embeddings, which come last, have their own), so they can travel while the earlier layers compute. Layers are
// grouped into buckets of at least `minimumFloats`; each bucket is one non-blocking all-reduce, which `progress()`
// advances between the GEMMs of the following layers (Open MPI here has no progress thread). The embeddings go
// last, in one small reduction: the word-embedding gradient only in the rows of tokens the step's batch uses
// (every other row is zero on every rank, so its sum is zero without sending it), and the rest of the embeddings.
import LodestoneBase

/// How the ranks' gradients are summed after each rank's backward.
public enum GradientSum: String, Sendable {
    /// One all-reduce of the whole gradient once backward is done.
    case blocking
    /// Buckets of layers in flight during backward, then the embeddings' used rows.
    case overlapped
}

final class OverlappedGradientSum {
    /// Layers join a bucket until it holds this many floats (MosaicBERT-base: one layer, 7 M, is a bucket).
    var minimumFloats = 1 << 20
    private(set) var bucketsStarted = 0
    private var collective: Collective = SingleProcess()
    private var gradients: UnsafeMutablePointer<Float>?
    private var inFlight: [any PendingAllReduce] = []
    /// Layers done but not yet sent: they grow downwards, towards layer 0.
    private var waiting: Range<Int>?
    /// A failed test, thrown by `finish` (`progress` runs inside backward, which cannot throw).
    private var failure: Error?
    /// The embeddings' part, packed: used word rows, then the other embedding parameters. Stays allocated
    /// (its size changes little from step to step) and untouched while its reduction is in flight.
    private var packed = UnsafeMutablePointer<Float>.allocate(capacity: 0), packedCapacity = 0

    deinit { packed.deallocate() }

    /// Before the last backward pass of a step.
    func begin(collective: Collective, gradients: UnsafeMutablePointer<Float>) {
        self.collective = collective; self.gradients = gradients
        inFlight = []; waiting = nil; failure = nil; bucketsStarted = 0
    }

    /// Layer `range` is final on this rank; `last`: no layer follows (layer 0), so whatever waits goes now.
    func layerDone(_ range: Range<Int>, last: Bool) {
        let grown = waiting.map { range.lowerBound..<$0.upperBound } ?? range
        precondition(grown.upperBound - grown.lowerBound == (waiting?.count ?? 0) + range.count, "layers must be done in order, last first")
        waiting = grown
        if grown.count >= minimumFloats || last { start(grown.lowerBound, count: grown.count); waiting = nil }
    }

    /// Lets the reductions in flight progress (MPI_Test); cheap enough to call between any two GEMMs.
    func progress() {
        guard failure == nil, !inFlight.isEmpty else { return }
        do { inFlight = try inFlight.filter { try !$0.test() } } catch { failure = error }
    }

    /// After the embeddings' backward: sends their part and waits for every reduction. `usedTokens`: the sorted
    /// distinct token ids of the whole step's batch (the same on every rank).
    func finish(layout: ParameterLayout, usedTokens: [Int], dim: Int) throws {
        guard let g = gradients else { return }
        if let failure { throw failure }
        let e = layout.embeddings, wordEnd = e.word + layout.entry(named: "embeddings.word_embeddings.weight")!.count
        let rest = wordEnd..<(layout.layers.first?.qkvWeight ?? layout.totalCount)
        let count = usedTokens.count * dim + rest.count
        if count > packedCapacity {
            packed.deallocate(); packed = .allocate(capacity: count); packedCapacity = count
        }
        for (k, id) in usedTokens.enumerated() { (packed + k * dim).update(from: g + e.word + id * dim, count: dim) }
        (packed + usedTokens.count * dim).update(from: g + rest.lowerBound, count: rest.count)
        inFlight.append(try collective.startAllReduceSum(packed, count: count))
        bucketsStarted += 1
        for pending in inFlight { try pending.wait() }
        inFlight = []
        for (k, id) in usedTokens.enumerated() { (g + e.word + id * dim).update(from: packed + k * dim, count: dim) }
        (g + rest.lowerBound).update(from: packed + usedTokens.count * dim, count: rest.count)
    }

    private func start(_ offset: Int, count: Int) {
        guard failure == nil, let g = gradients else { return }
        do { inFlight.append(try collective.startAllReduceSum(g + offset, count: count)); bucketsStarted += 1 } catch { failure = error }
    }
}
