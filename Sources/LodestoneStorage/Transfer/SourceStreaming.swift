import Foundation
import LodestoneBase
#if canImport(Glibc)
import Glibc
#endif

/// Opens a download source as a byte stream: a local file, or an HTTP(S) GET from `offset`.
public func openSource(_ source: DataSource, http: HTTPClient, headers: [String] = []) throws -> ByteReader {
    switch source {
    case .file(let path):
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileSystemError.last(path: path, action: "cannot read") }
        return FileReader(fd: fd, path: path, range: nil)
    case .http(let url):
        return try http.openStream(HTTPRequest(url: url, headers: headers))
    }
}

/// Streams `source` through `sink` with a digest and size check; restarts from byte 0 (up to `restarts`
/// times) when the server cannot resume or the bytes fail verification. `sink` is called once per attempt
/// and must start afresh each time (a new temporary file, a new store write).
/// Returns the byte count and the SHA-256 (hex) of what was delivered.
public func streamVerified(from source: DataSource, http: HTTPClient, headers: [String] = [],
                           expectedSize: Int64?, expectedSHA256: String?, what: String, restarts: Int = 2,
                           progress: @escaping (Int64) -> Void = { _ in },
                           sink: (_ consume: (ByteWriter) throws -> (Int64, String?)) throws -> Void) throws -> (Int64, String?) {
    var attempt = 0
    while true {
        attempt += 1
        var result: (Int64, String?) = (0, nil)
        do {
            try sink { writer in
                let reader = try openSource(source, http: http, headers: headers)
                defer { reader.close() }
                var hasher = expectedSHA256 == nil ? nil : SHA256()
                var total: Int64 = 0
                let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
                defer { chunk.deallocate() }
                func pass(_ bytes: UnsafeRawBufferPointer) throws {
                    hasher?.update(bytes)
                    try writer.write(bytes)
                    total += Int64(bytes.count)
                    progress(total)
                    if let e = expectedSize, total > e {
                        throw StorageError.integrity(what: what, reason: "more bytes than the expected \(e)")
                    }
                }
                if let stream = reader as? HTTPStream {
                    while try stream.readChunk(pass) > 0 {}  // no copy between curl's buffer and the store
                } else {
                    while true {
                        let n = try reader.read(into: chunk)
                        if n == 0 { break }
                        try pass(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                    }
                }
                if let e = expectedSize, total != e {
                    throw StorageError.integrity(what: what, reason: "got \(total) bytes, expected \(e)")
                }
                let digest = hasher?.finalizeHex()
                if let want = expectedSHA256, digest != want.lowercased() {
                    throw StorageError.integrity(what: what, reason: "sha256 \(digest ?? "?") does not match \(want)")
                }
                result = (total, digest)
                return result
            }
            return result
        } catch let e as StorageError {
            switch e {
            case .notResumable, .integrity:
                if attempt <= restarts { progress(0); continue }
            default: break
            }
            throw e
        }
    }
}

/// Hashes an object already in a store (to decide whether a rerun may skip it).
public func sha256(of store: ObjectStore, key: String) throws -> String {
    try sha256(of: try store.openReader(key: key))
}

/// SHA-256 (hex) of everything `reader` yields; closes it.
public func sha256(of reader: ByteReader) throws -> String {
    defer { reader.close() }
    var hasher = SHA256()
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { chunk.deallocate() }
    while true {
        let n = try reader.read(into: chunk)
        if n == 0 { break }
        hasher.update(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
    }
    return hasher.finalizeHex()
}
