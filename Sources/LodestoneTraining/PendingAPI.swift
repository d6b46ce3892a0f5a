// TEMPORARY stand-ins for names other helpers own (see /work/API.md); deleted when their code lands in main.
import Foundation

/// LodestoneData's record: texts[0] anchor, texts[1] positive, texts[2...] hard negatives.
public struct TrainingExample: Equatable, Sendable {
    public var texts: [String]
    public init(texts: [String]) { self.texts = texts }
}
