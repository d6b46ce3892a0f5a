import LodestoneStorage

/// One row of `GoogleSheets_datasets.tsv` / `HuggingFace_datasets.tsv`.
public struct DatasetRow: Equatable, Sendable {
    public var name: String
    public var description: String
    /// `Size (#Pairs)`, thousands separators removed; nil when empty.
    public var pairs: Int64?
    /// nil when the link is unknown (empty): the row is skipped, not failed.
    public var source: DataSource?
    public var manifest: String
    public var line: Int
}

/// One row of `HuggingFace_repos.tsv`: a Hub dataset repo pulled file by file.
public struct HubRepoRow: Equatable, Sendable {
    public var repo: String
    public var revision: String
    /// File-name stems left out: `security` drops `security.stackexchange.com.jsonl.gz`.
    public var exclude: [String]
    /// Folder under `data/` in the store (default: the repo's name).
    public var folder: String
    public var manifest: String
    public var line: Int
}
