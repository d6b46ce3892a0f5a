import Foundation

/// Opens the store named by a `--store` value: `s3://bucket/prefix`, `file:///path` or a local directory path.
/// Any other `scheme://` (ftp, http, gs, …) is refused rather than taken for a directory name. S3 credentials
/// come from the environment; `endpointURL` (`--endpoint-url`) overrides AWS_ENDPOINT_URL. With
/// `create: false` a local store must already exist (a step that reads what an earlier one wrote).
public func openStore(_ url: String, endpointURL: String? = nil, http: HTTPClient = HTTPClient(),
                      create: Bool = true) throws -> ObjectStore {
    let scheme = url.range(of: "://").map { url[..<$0.lowerBound].lowercased() }
    switch scheme {
    case "s3"?:
        let rest = url.dropFirst("s3://".count)
        let bucket = rest.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let prefix = rest.count > bucket.count ? String(rest.dropFirst(bucket.count + 1)) : ""
        var env = try AWSEnvironment.fromEnvironment()
        if let e = endpointURL, !e.isEmpty { env.endpointURL = e }
        return try S3Store(bucket: bucket, prefix: prefix, environment: env, http: http)
    case "file"?:
        let path = String(url.dropFirst("file://".count))
        guard !path.isEmpty else { throw StorageError.badURL(url, reason: "empty path") }
        return try LocalStore(root: URL(fileURLWithPath: path), create: create)
    case let other?:
        throw StorageError.badURL(url, reason: "unsupported scheme '\(other)://' (use a local directory, file:///dir or s3://bucket/prefix)")
    case nil:
        guard !url.isEmpty else { throw StorageError.badURL(url, reason: "empty path") }
        if let scheme = mistypedScheme(url) {
            throw StorageError.badURL(url, reason: "'\(scheme):' without '//' is not a store (write s3://bucket/prefix or file:///dir; a local directory of that name: ./\(url))")
        }
        return try LocalStore(root: URL(fileURLWithPath: url), create: create)
    }
}

/// The directory of a local store value (a path or file:///dir), nil for any other store.
public func localStorePath(_ value: String) -> String? {
    if value.lowercased().hasPrefix("file://") { return String(value.dropFirst("file://".count)) }
    return value.contains("://") || value.isEmpty || mistypedScheme(value) != nil ? nil : value
}

/// `s3:bucket/x`, `s3:/bucket/x`, `file:dir`: a path whose first component starts with a URL scheme and a colon
/// is a mistyped URL, not the local folder `s3:` it would otherwise create. (`./s3:x` still names a folder.)
func mistypedScheme(_ value: String) -> String? {
    guard let colon = value.firstIndex(of: ":") else { return nil }
    let head = value[..<colon]
    guard let first = head.first, first.isASCII, first.isLetter,
          head.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else { return nil }
    return head.lowercased()
}
