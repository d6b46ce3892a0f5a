import Foundation

/// Errors of the storage layer; descriptions name the store and key, never credentials.
public enum StorageError: Error, CustomStringConvertible, Equatable {
    case notFound(store: String, key: String)
    /// A local store directory that must exist (steps reading what an earlier one wrote) does not.
    case noStore(String)
    case badURL(String, reason: String)
    /// An object key (or Hub path) that could escape the store or name nothing.
    case badKey(String, reason: String)
    /// An S3 store without credentials: names the AWS_* variables that are not set.
    case missingCredentials([String])
    /// The store's endpoint refused the connection or its host name did not resolve: nothing will work,
    /// so the step stops instead of retrying object after object.
    case unreachable(endpoint: String, reason: String)
    case http(url: String, status: Int, message: String)
    case transport(url: String, reason: String)
    /// A resumed download got the whole body again (the server ignores Range): start over.
    case notResumable(url: String, offset: Int64)
    /// Bytes arrived but are not the expected ones (size or checksum).
    case integrity(what: String, reason: String)
    case badResponse(url: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let s, let k): return "\(s): no object '\(k)'"
        case .noStore(let p): return "\(p): no such store directory (check --store; 01-dataloading creates it)"
        case .missingCredentials(let names):
            return "an s3:// store needs credentials: \(names.joined(separator: " and ")) \(names.count == 1 ? "is" : "are") not set"
        case .unreachable(let e, let r): return "\(e): cannot reach the store's endpoint: \(r) (check --endpoint-url / AWS_ENDPOINT_URL)"
        case .badURL(let u, let r): return "bad store URL '\(u)': \(r)"
        case .badKey(let k, let r): return "bad object key '\(k)': \(r)"
        case .http(let u, let s, let m): return "\(u): HTTP \(s)\(m.isEmpty ? "" : ": \(m)")"
        case .transport(let u, let r): return "\(u): \(r)"
        case .notResumable(let u, let o): return "\(u): server ignored Range at byte \(o); restarting from 0"
        case .integrity(let w, let r): return "\(w): \(r)"
        case .badResponse(let u, let r): return "\(u): unexpected response: \(r)"
        }
    }
}
