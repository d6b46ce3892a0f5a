// A training step's texts and the buffers that span the whole batch, however it is split into passes.
import LodestoneTensor

/// One step's texts (columns flattened: anchors, positives, negatives) and where each row sits in the whole
/// batch, so a pass over some rows draws the dropout masks the whole batch would.
struct StepBatch {
    let rows: [[Int32]]
    let whole: RaggedBatch
    let dropout: StepDropout?
    /// Attention probabilities (Σ heads · L²) before each row; empty without attention dropout.
    private let probabilityStarts: [Int]

    init(rows: [[Int32]], whole: RaggedBatch, heads: Int, dropout: StepDropout?) {
        self.rows = rows; self.whole = whole; self.dropout = dropout
        var starts: [Int] = []
        if dropout?.attention != nil {
            starts.reserveCapacity(rows.count)
            var total = 0
            for l in whole.lengths { starts.append(total); total += heads * l * l }
        }
        probabilityStarts = starts
    }

    /// Rows `r` as a batch of their own, with dropout offset to their place in the whole.
    func slice(_ r: Range<Int>) -> (rows: [[Int32]], ragged: RaggedBatch, dropout: StepDropout?) {
        if r == 0..<rows.count { return (rows, whole, dropout) }
        var d = dropout
        d?.tokenOffset = whole.starts[r.lowerBound]
        d?.probabilityOffset = probabilityStarts.isEmpty ? 0 : probabilityStarts[r.lowerBound]
        return (Array(rows[r]), RaggedBatch(lengths: Array(whole.lengths[r])), d)
    }
}

/// The whole batch's embeddings, their gradients and the loss's scratch: grown when a batch needs more.
final class StepBuffers {
    private(set) var embeddings: UnsafeMutablePointer<Float>
    private(set) var embeddingGradients: UnsafeMutablePointer<Float>
    /// This rank's slice of `embeddings`, copied for the all-gather (MPI does not let send and receive overlap).
    private(set) var send: UnsafeMutablePointer<Float>
    private(set) var scratch: UnsafeMutablePointer<Float>
    private var embeddingCapacity = 0, scratchCapacity = 0

    init() {
        embeddings = .allocate(capacity: 1); embeddingGradients = .allocate(capacity: 1)
        send = .allocate(capacity: 1); scratch = .allocate(capacity: 1)
    }

    deinit { embeddings.deallocate(); embeddingGradients.deallocate(); send.deallocate(); scratch.deallocate() }

    func prepare(rows: Int, dim: Int, scratch count: Int) {
        if rows * dim > embeddingCapacity {
            embeddingCapacity = rows * dim
            for buffer in [embeddings, embeddingGradients, send] { buffer.deallocate() }
            embeddings = .allocate(capacity: embeddingCapacity)
            embeddingGradients = .allocate(capacity: embeddingCapacity)
            send = .allocate(capacity: embeddingCapacity)
        }
        if count > scratchCapacity {
            scratchCapacity = count
            scratch.deallocate()
            scratch = .allocate(capacity: count)
        }
    }
}
