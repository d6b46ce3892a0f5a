// Flags shared by the steps that use the object store (01, 02, 04).
import ArgumentParser
import Foundation
import LodestoneBase
import LodestoneStorage
import LodestoneTensor

/// `--store` and `--endpoint-url`, declared once.
public struct StoreOptions: ParsableArguments {
    @Option(help: "Object store: a local directory or s3://bucket/prefix (credentials from AWS_* variables).")
    public var store = "data/store"

    @Option(name: .customLong("endpoint-url"),
            help: "S3 endpoint for S3-compatible services (default: $AWS_ENDPOINT_URL; path-style addressing).")
    public var endpointURL: String?

    public init() {}

    /// Opens the store these flags name. `create: false` for a step that reads what an earlier one wrote:
    /// a local store that does not exist is then an error, not a new empty directory.
    public func open(http: HTTPClient = HTTPClient(), create: Bool = true) throws -> ObjectStore {
        try openStore(store, endpointURL: endpointURL, http: http, create: create)
    }
}
