/// Corrupt compressed data, named by object and compressed byte offset. Problems with a line or a field of a
/// data file are `InputError`s (file:line: field: reason).
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// The compressed stream is corrupt or truncated; `offset` is the compressed byte offset where it failed.
    case gzip(name: String, offset: Int64, reason: String)

    public var description: String {
        switch self {
        case .gzip(let n, let o, let r): return "\(n): corrupt gzip at compressed byte \(o): \(r)"
        }
    }
}
