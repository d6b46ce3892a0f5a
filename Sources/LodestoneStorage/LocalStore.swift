import Foundation
import LodestoneBase
#if canImport(Glibc)
import Glibc
#endif

/// An object store in a local directory: key `a/b.json.gz` is the file `<root>/a/b.json.gz`.
/// Writes go through `AtomicFile`: a hidden temporary beside the target, renamed into place on commit.
public final class LocalStore: ObjectStore, @unchecked Sendable {
    public let root: URL
    /// fsync each object before the rename that commits it, and its directory after, so it survives a power
    /// loss, not only a killed process. On by default (checkpoints); 01-dataloading turns it off unless `--fsync` is given, because its
    /// objects are re-fetchable and a rerun re-checks sizes (and sha256 where known).
    public var syncOnCommit = true

    /// Opens the store at `root`, creating the directory when `create` is true. With `create: false` (steps
    /// that only read what an earlier step wrote) a missing directory is an error, so a mistyped `--store`
    /// never leaves an empty store behind.
    public init(root: URL, create: Bool = true) throws {
        self.root = root.standardizedFileURL
        if create {
            try Directory.create(self.root)
            return
        }
        var st = stat()
        guard stat(self.root.path, &st) == 0 else { throw StorageError.noStore(self.root.path) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw FileSystemError(path: self.root.path, action: "cannot open store", code: ENOTDIR)
        }
    }

    public var description: String { root.path }

    func path(_ key: String) throws -> String {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        if key.isEmpty || key.hasPrefix("/") || parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) {
            throw StorageError.badKey(key, reason: "key must be a relative path without '.', '..' or empty parts")
        }
        return root.appendingPathComponent(key).path
    }

    public func list(prefix: String) throws -> [ObjectInfo] {
        var result: [ObjectInfo] = []
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return []
        }
        let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let url as URL in walker {
            let full = url.standardizedFileURL.path
            guard full.hasPrefix(rootPath) else { continue }
            let key = String(full.dropFirst(rootPath.count))
            guard key.hasPrefix(prefix), !AtomicFile.isTemporary(url.lastPathComponent), key != OutputLock.fileName else { continue }
            if let info = try head(key: key) { result.append(info) }
        }
        return result.sorted { $0.key < $1.key }
    }

    public func head(key: String) throws -> ObjectInfo? {
        var st = stat()
        guard stat(try path(key), &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let nanos = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        return ObjectInfo(key: key, size: Int64(st.st_size), etag: String(nanos),
                          lastModified: Date(timeIntervalSince1970: Double(nanos) / 1e9))
    }

    public func openReader(key: String, range: Range<Int64>?) throws -> ByteReader {
        let p = try path(key)
        let fd = open(p, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw StorageError.notFound(store: description, key: key) }
            throw FileSystemError.last(path: p, action: "cannot read")
        }
        return FileReader(fd: fd, path: p, range: range)
    }

    public func write(key: String, expectedSize: Int64?, body: (ByteWriter) throws -> Void) throws {
        try AtomicFile.write(to: URL(fileURLWithPath: try path(key)), durable: syncOnCommit) { sink in try body(sink) }
    }

    public func delete(key: String) throws {
        let p = try path(key)
        if unlink(p) != 0 && errno != ENOENT { throw FileSystemError.last(path: p, action: "cannot delete") }
    }
}

final class FileReader: ByteReader {
    let fd: Int32, path: String
    var remaining: Int64?

    init(fd: Int32, path: String, range: Range<Int64>?) {
        self.fd = fd; self.path = path
        if let range { lseek(fd, off_t(range.lowerBound), SEEK_SET); remaining = range.upperBound - range.lowerBound }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var want = buffer.count
        if let r = remaining { want = Int(min(Int64(want), r)) }
        if want == 0 { return 0 }
        let n = Glibc.read(fd, buffer.baseAddress, want)
        if n < 0 { throw FileSystemError.last(path: path, action: "cannot read") }
        if remaining != nil { remaining! -= Int64(n) }
        return n
    }

    private var closed = false
    func close() { if !closed { closed = true; Glibc.close(fd) } }
    deinit { close() }
}

/// The atomic file writer's sink is the local store's byte writer.
extension FileSink: ByteWriter {}
