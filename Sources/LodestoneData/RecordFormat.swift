/// The shapes a training JSON line takes (one JSON value per line, see ../shared/reference/LODESTONE.md, "Record formats").
/// The raw values are what the sidecar of `data_records.json` records as a file's detected format.
public enum RecordFormat: String, Codable, CaseIterable, Sendable {
    /// `["anchor", "positive"]`
    case pairList = "pairs"
    /// `["anchor", "positive", "negative", …]`: texts after the second are hard negatives.
    case tripletList = "triplets"
    /// `{"texts": [...], "guid": …}` (flax stackexchange files); same meaning as a list.
    case texts = "texts"
    /// `{"set": [...]}`: a group of paraphrases. One example per line: its first two texts (see `RecordParser`).
    case set = "set"
    /// `{"query": q, "pos": [p1, …]}`: one example per positive.
    case queryPos = "query-pos"
    /// `{"query": q, "pos": [...], "neg": [...]}`: one example per positive, with a hard negative.
    case queryPosNeg = "query-pos-neg"
    /// reddit-title-body `{"title", "body", "subreddit"}` → (title, body).
    case redditTitleBody = "title-body"
    /// reddit_20XX `{"context", "response"}` → (response, context).
    case redditContextResponse = "context-response"
}

/// One training example: `texts[0]` anchor, `texts[1]` positive, `texts[2...]` hard negatives.
public struct TrainingExample: Equatable, Hashable, Sendable {
    public var texts: [String]
    public init(texts: [String]) { self.texts = texts }
    public init(_ texts: String...) { self.texts = texts }
}

/// Why a line holds no training record; `byte` is the 0-based offset in the line where it went wrong.
public struct MalformedRecord: Error, Equatable, CustomStringConvertible, Sendable {
    public var reason: String
    public var byte: Int
    public var description: String { "\(reason) (byte \(byte))" }
}
