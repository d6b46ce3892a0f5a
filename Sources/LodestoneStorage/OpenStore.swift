import Foundation

/// Opens the store named by a `--store` value: `s3://bucket/prefix` or a local directory path
/// (`file://` URLs accepted). S3 credentials come from the environment; `endpointURL` (`--endpoint-url`)
/// overrides AWS_ENDPOINT_URL.
public func openStore(_ url: String) throws -> ObjectStore {
    try openStore(url, endpointURL: nil)
}

public func openStore(_ url: String, endpointURL: String?, http: HTTPClient = HTTPClient()) throws -> ObjectStore {
    if url.hasPrefix("s3://") {
        let rest = url.dropFirst("s3://".count)
        let bucket = rest.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let prefix = rest.count > bucket.count ? String(rest.dropFirst(bucket.count + 1)) : ""
        var env = try AWSEnvironment.fromEnvironment()
        if let e = endpointURL, !e.isEmpty { env.endpointURL = e }
        return try S3Store(bucket: bucket, prefix: prefix, environment: env, http: http)
    }
    let path = url.hasPrefix("file://") ? String(url.dropFirst("file://".count)) : url
    guard !path.isEmpty else { throw StorageError.badURL(url, reason: "empty path") }
    return try LocalStore(root: URL(fileURLWithPath: path))
}
