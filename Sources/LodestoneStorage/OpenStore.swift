import Foundation

/// Opens the store named by a `--store` value: `s3://bucket/prefix` or a local directory path
/// (`file://` URLs accepted). The S3 implementation lives in `S3Store.swift`.
public func openStore(_ url: String) throws -> ObjectStore {
    if url.hasPrefix("s3://") {
        throw StorageError.badURL(url, reason: "S3 stores are not built yet")
    }
    let path = url.hasPrefix("file://") ? String(url.dropFirst("file://".count)) : url
    guard !path.isEmpty else { throw StorageError.badURL(url, reason: "empty path") }
    return try LocalStore(root: URL(fileURLWithPath: path))
}
