import Foundation

/// What a store knows about one object.
public struct ObjectInfo: Sendable, Equatable, Codable {
    /// Key inside the store, e.g. `data/AllNLI.json.gz` (no leading slash).
    public var key: String
    public var size: Int64
    /// S3 ETag (quotes stripped) or, for a local store, the modification time in nanoseconds as text.
    public var etag: String?
    public var lastModified: Date?

    public init(key: String, size: Int64, etag: String? = nil, lastModified: Date? = nil) {
        self.key = key; self.size = size; self.etag = etag; self.lastModified = lastModified
    }
}

/// A pull-style byte stream: `read` fills at most `buffer.count` bytes and returns 0 at the end.
public protocol ByteReader: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    func close()
}

/// A push-style byte sink used inside `ObjectStore.write`; bytes become visible under the key only on commit.
public protocol ByteWriter: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// The object store every step shares: a local directory or an S3 bucket/prefix.
/// Writes are atomic: a reader never sees a partial object under its final key.
public protocol ObjectStore: AnyObject, Sendable, CustomStringConvertible {
    /// Every object whose key starts with `prefix`, sorted by key.
    func list(prefix: String) throws -> [ObjectInfo]
    /// The object's info, or nil when there is no such key.
    func head(key: String) throws -> ObjectInfo?
    /// Streams the object's bytes, optionally only `range` (byte offsets, upper bound exclusive).
    func openReader(key: String, range: Range<Int64>?) throws -> ByteReader
    /// Streams a new object: `body` writes the bytes; when it returns the object is committed under `key`,
    /// when it throws nothing is visible and the error propagates. `expectedSize` may help part sizing.
    func write(key: String, expectedSize: Int64?, body: (ByteWriter) throws -> Void) throws
    func delete(key: String) throws
}

extension ObjectStore {
    public func openReader(key: String) throws -> ByteReader { try openReader(key: key, range: nil) }

    /// Whole object into memory: for small objects only (configs, data_records.json, checkpoints' metadata).
    public func getData(key: String) throws -> Data {
        let reader = try openReader(key: key)
        defer { reader.close() }
        var result = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    /// Writes a small object atomically.
    public func putData(key: String, _ data: Data) throws {
        try write(key: key, expectedSize: Int64(data.count)) { writer in
            try data.withUnsafeBytes { try writer.write($0) }
        }
    }
}
