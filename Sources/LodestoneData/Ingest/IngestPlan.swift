import LodestoneStorage

/// One object to bring into the store.
public struct PlannedTransfer: Sendable, Equatable {
    /// Manifest Name, or `<folder>/<file>` for Hub repo files (what `--only` matches).
    public var name: String
    public var source: DataSource
    /// Store key: `data/<Name>.json.gz` or `data/<folder>/<file>.json.gz`.
    public var key: String
    public var size: Int64?
    public var sha256: String?
    /// Sent with the download (the Hub token); never printed.
    public var headers: [String] = []
}

/// What 01-dataloading will do: transfers, rows skipped for want of a link, and planning failures
/// (a repo listing that failed, a listed path that escapes its folder).
public struct IngestPlan: Sendable {
    public var transfers: [PlannedTransfer] = []
    public var skipped: [(name: String, reason: String)] = []
    public var failures: [(name: String, reason: String)] = []
}
