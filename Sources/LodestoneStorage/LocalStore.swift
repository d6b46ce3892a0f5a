import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An object store in a local directory: key `a/b.json.gz` is the file `<root>/a/b.json.gz`.
/// Writes go to a hidden temporary file beside the target and are renamed into place on commit.
public final class LocalStore: ObjectStore, @unchecked Sendable {
    public let root: URL
    /// fsync each object before the rename that commits it, so it survives a power loss, not only a killed
    /// process. On by default (checkpoints); 01-dataloading turns it off unless `--fsync` is given, because its
    /// objects are re-fetchable and a rerun re-checks sizes (and sha256 where known).
    public var syncOnCommit = true

    public init(root: URL) throws {
        self.root = root.standardizedFileURL
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
    }

    public var description: String { root.path }

    func path(_ key: String) throws -> String {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        if key.isEmpty || key.hasPrefix("/") || parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) {
            throw StorageError.badURL(key, reason: "key must be a relative path without '.', '..' or empty parts")
        }
        return root.appendingPathComponent(key).path
    }

    static func isTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.hasSuffix(".partial") }

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
            guard key.hasPrefix(prefix), !Self.isTemporary(url.lastPathComponent) else { continue }
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
            throw StorageError.io(path: p, reason: String(cString: strerror(errno)))
        }
        return FileReader(fd: fd, path: p, range: range)
    }

    public func write(key: String, expectedSize: Int64?, body: (ByteWriter) throws -> Void) throws {
        let target = try path(key)
        let dir = (target as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let name = (target as NSString).lastPathComponent
        removeAbandonedTemporaries(dir: dir, name: name)
        let temp = dir + "/." + name + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw StorageError.io(path: temp, reason: String(cString: strerror(errno))) }
        let writer = FileWriter(fd: fd, path: temp)
        do {
            try body(writer)
            guard !syncOnCommit || fsync(fd) == 0 else { throw StorageError.io(path: temp, reason: String(cString: strerror(errno))) }
            close(fd)
            guard rename(temp, target) == 0 else { throw StorageError.io(path: target, reason: String(cString: strerror(errno))) }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
    }

    /// Temporary files of this key left by a writer that was killed (its process is gone) are removed, so a
    /// rerun after a crash leaves the directory as a clean run would.
    func removeAbandonedTemporaries(dir: String, name: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        let head = "." + name + "."
        for entry in entries where entry.hasPrefix(head) && Self.isTemporary(entry) {
            let middle = entry.dropFirst(head.count).split(separator: ".")
            guard let pid = middle.first.flatMap({ pid_t($0) }), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(dir + "/" + entry) }
        }
    }

    public func delete(key: String) throws {
        let p = try path(key)
        if unlink(p) != 0 && errno != ENOENT { throw StorageError.io(path: p, reason: String(cString: strerror(errno))) }
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
        if n < 0 { throw StorageError.io(path: path, reason: String(cString: strerror(errno))) }
        if remaining != nil { remaining! -= Int64(n) }
        return n
    }

    private var closed = false
    func close() { if !closed { closed = true; Glibc.close(fd) } }
    deinit { close() }
}

final class FileWriter: ByteWriter {
    let fd: Int32, path: String
    init(fd: Int32, path: String) { self.fd = fd; self.path = path }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.io(path: path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }
}
