import Foundation

/// Errors of the data layer. Each description is one line naming the object (key or file) and where in it.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// The compressed stream is corrupt or truncated; `offset` is the compressed byte offset where it failed.
    case gzip(name: String, offset: Int64, reason: String)
    /// A line exceeded the reader's bound on line length (bounded memory).
    case lineTooLong(name: String, line: Int, limit: Int)
    /// A JSON line that does not hold a training record (used by `--strict` and the trainer's strict mode).
    case malformedLine(name: String, line: Int, reason: String)
    /// A bad `data_records.json` or sidecar.
    case badRecordsFile(name: String, reason: String)

    public var description: String {
        switch self {
        case .gzip(let n, let o, let r): return "\(n): corrupt gzip at compressed byte \(o): \(r)"
        case .lineTooLong(let n, let l, let lim): return "\(n): line \(l) is longer than \(lim) bytes"
        case .malformedLine(let n, let l, let r): return "\(n): line \(l): \(r)"
        case .badRecordsFile(let n, let r): return "\(n): \(r)"
        }
    }
}
