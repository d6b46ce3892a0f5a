// A batch of sequences stored unpadded: the tokens of all sequences back to back, so dense layers run on
// real tokens only (MosaicBERT's "unpadded" design) and padding costs no FLOPs.

/// Where each sequence lives in the concatenated token rows.
public struct RaggedBatch: Equatable, Sendable {
    public let starts: [Int]
    public let lengths: [Int]
    public let tokenCount: Int
    public let maxLength: Int
    /// Σ L² over sequences: the size of one head's attention matrices for the whole batch.
    public let squaredLengthSum: Int

    public init(lengths: [Int]) {
        var starts: [Int] = []
        starts.reserveCapacity(lengths.count)
        var t = 0, sq = 0
        for l in lengths { starts.append(t); t += l; sq += l * l }
        self.starts = starts
        self.lengths = lengths
        self.tokenCount = t
        self.maxLength = lengths.max() ?? 0
        self.squaredLengthSum = sq
    }

    public var count: Int { lengths.count }
}
