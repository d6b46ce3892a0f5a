import Foundation

/// Where a dataset's bytes come from.
public enum DataSource: Equatable, Sendable, CustomStringConvertible {
    case http(String)
    case file(String)

    public var description: String {
        switch self {
        case .http(let u): return redactedURL(u)
        case .file(let p): return p
        }
    }
}
