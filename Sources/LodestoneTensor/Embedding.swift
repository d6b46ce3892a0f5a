// Token embeddings: word row + token-type row (type 0: sentence embedding inputs are single segments)
// + absolute position row (classic BERT only; MosaicBERT relies on ALiBi instead).

/// out[t] = word[ids[t]] + tokenType[0] (+ position[t − start of its sequence]).
public func embeddingForward(_ out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>,
                             word: UnsafePointer<Float>, tokenType: UnsafePointer<Float>,
                             position: UnsafePointer<Float>?, batch: RaggedBatch, dim: Int) {
    for s in 0..<batch.count {
        for p in 0..<batch.lengths[s] {
            let t = batch.starts[s] + p
            let o = out + t * dim, w = word + Int(ids[t]) * dim
            for i in 0..<dim { o[i] = w[i] + tokenType[i] }
            if let position {
                let pr = position + p * dim
                for i in 0..<dim { o[i] += pr[i] }
            }
        }
    }
}

/// Backward of `embeddingForward`: scatters dout into the used rows (accumulated).
public func embeddingBackward(dword: UnsafeMutablePointer<Float>, dtokenType: UnsafeMutablePointer<Float>,
                              dposition: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                              ids: UnsafePointer<Int32>, batch: RaggedBatch, dim: Int) {
    for s in 0..<batch.count {
        for p in 0..<batch.lengths[s] {
            let t = batch.starts[s] + p
            let d = dout + t * dim, w = dword + Int(ids[t]) * dim
            for i in 0..<dim { w[i] += d[i]; dtokenType[i] += d[i] }
            if let dposition {
                let pr = dposition + p * dim
                for i in 0..<dim { pr[i] += d[i] }
            }
        }
    }
}
