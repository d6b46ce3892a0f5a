// One query's candidates for its top k, as one thread's scan of the corpus leaves them: every row whose score
// reached `floor`, where floor trails the k-th best score kept so far by `margin` (0 for exact scores; twice the
// error bound for bf16 scores, so no row that can still be in the exact top k is dropped). Scanning compares a
// whole tile of scores against the floor and calls `add` only for the few that pass.

struct CandidatePool {
    let k: Int
    let margin: Float
    private(set) var floor = -Float.infinity
    private(set) var indices: [Int] = []
    private(set) var scores: [Float] = []
    private var capacity: Int

    init(k: Int, margin: Float) {
        self.k = k; self.margin = margin
        capacity = max(4 * k, 64)
        indices.reserveCapacity(min(capacity, 256)); scores.reserveCapacity(min(capacity, 256))   // a huge k grows on demand
    }

    /// Keeps a row that passed the floor; raises the floor when the pool is full.
    @inline(__always) mutating func add(_ index: Int, _ score: Float) {
        indices.append(index); scores.append(score)
        if scores.count >= capacity { prune() }
    }

    /// Floor = k-th best score − margin, and rows below it dropped. A pool still more than half full afterwards
    /// (many rows within the margin) doubles its capacity, so pruning stays rare.
    mutating func prune() {
        guard scores.count >= k else { return }
        floor = max(floor, Self.kthLargest(scores, k) - margin)
        var kept = 0
        for i in 0..<scores.count where scores[i] >= floor {
            scores[kept] = scores[i]; indices[kept] = indices[i]; kept += 1
        }
        scores.removeLast(scores.count - kept); indices.removeLast(indices.count - kept)
        if kept > capacity / 2 { capacity *= 2 }
    }

    static func kthLargest(_ values: [Float], _ k: Int) -> Float { values.sorted(by: >)[k - 1] }
}
