import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whole-file writes that a reader, a kill or a full disk can never catch half done: the bytes go to a hidden
/// temporary beside the target (`.<name>.<pid>.<random>.partial`), are fsynced, and `rename(2)` puts them in
/// place; then the directory is fsynced so the rename itself survives a power loss. On any failure the
/// temporary is removed and the previous file, if any, is untouched. The one atomic writer of the project.
public enum AtomicFile {
    /// Writes `data` to `url`. Refuses a directory at `url` and any path listed in `protecting` (e.g. the input
    /// file of the same run), so a careless `--output` cannot destroy what the user had.
    public static func write(_ data: Data, to url: URL, durable: Bool = true, protecting: [URL] = []) throws {
        try write(to: url, durable: durable, protecting: protecting) { sink in
            try data.withUnsafeBytes { try sink.write($0) }
        }
    }

    /// Streams a file: `body` writes through the sink; when it returns the file is committed under `url`.
    public static func write(to url: URL, durable: Bool = true, protecting: [URL] = [],
                             body: (FileSink) throws -> Void) throws {
        let target = url.standardizedFileURL.path
        try checkWritable(target, protecting: protecting)
        if isWrittenThrough(target) { return try writeThrough(target, body: body) }
        let dir = parentPath(target)
        try Directory.create(dir)
        let name = (target as NSString).lastPathComponent
        removeAbandonedTemporaries(directory: dir, name: name)
        let temp = dir + "/" + temporaryName(for: name)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemError.last(path: target, action: "cannot write") }
        let sink = FileSink(fd: fd, path: target)
        do {
            try body(sink)
            if durable, fsync(fd) != 0 { throw FileSystemError.last(path: target, action: "cannot write") }
            try sink.close()
            guard rename(temp, target) == 0 else { throw FileSystemError.last(path: target, action: "cannot replace") }
        } catch {
            try? sink.close()
            unlink(temp)
            throw error
        }
        if durable { try Directory.sync(dir) }
    }

    /// Fails with one clear line when `path` may not be written: a directory, or a file the run reads.
    public static func checkWritable(_ path: String, protecting: [URL] = []) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFDIR: throw FileSystemError(path: path, action: "cannot write", code: EISDIR)
            case S_IFREG, S_IFCHR, S_IFIFO: break
            case S_IFBLK: throw InputError(file: path, reason: "is a block device; refusing to write to it (choose a regular file)")
            default: throw InputError(file: path, reason: "is not a regular file; refusing to write to it (choose a regular file)")
            }
            for other in protecting {
                var o = stat()
                if stat(other.path, &o) == 0, o.st_dev == st.st_dev, o.st_ino == st.st_ino {
                    throw InputError(file: path, reason: "is also an input of this run (\(other.path)); refusing to overwrite it")
                }
            }
        }
    }

    /// Whether `path` is a character device or a FIFO (`/dev/null`, `/dev/stdout`): such a target is written
    /// through, never replaced by a rename (as root that would turn `/dev/full` into a regular file).
    public static func isWrittenThrough(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        return (st.st_mode & S_IFMT) == S_IFCHR || (st.st_mode & S_IFMT) == S_IFIFO
    }

    /// Streams `body` into the device or FIFO at `path` itself; its errors (ENOSPC from `/dev/full`) name `path`.
    static func writeThrough(_ path: String, body: (FileSink) throws -> Void) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.last(path: path, action: "cannot write") }
        let sink = FileSink(fd: fd, path: path)
        do { try body(sink) } catch { try? sink.close(); throw error }
        try sink.close()
    }

    /// `.<name>.<pid>.<random>.partial`: hidden, tied to the writing process so that leftovers of a killed
    /// writer can be told from the work of a live one.
    public static func temporaryName(for name: String, suffix: String = "partial") -> String {
        ".\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).\(suffix)"
    }

    public static func isTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.hasSuffix(".partial") }

    /// Temporaries of `name` in `directory` left by a process that no longer exists (killed mid-write) are
    /// removed, files and staging directories alike, so a rerun leaves the directory as a clean run would.
    public static func removeAbandonedTemporaries(directory: String, name: String) {
        for entry in abandoned(in: directory, name: name, suffix: "partial") {
            try? FileManager.default.removeItem(atPath: directory + "/" + entry)
        }
    }

    /// Names `.<name>.<pid>.<random>.<suffix>` in `directory` whose process is gone.
    static func abandoned(in directory: String, name: String, suffix: String) -> [String] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        let head = "." + name + "."
        return entries.filter { entry in
            guard entry.hasPrefix(head), entry.hasSuffix("." + suffix) else { return false }
            let middle = entry.dropFirst(head.count).split(separator: ".")
            guard let pid = middle.first.flatMap({ pid_t($0) }), pid != getpid() else { return false }
            return kill(pid, 0) != 0 && errno == ESRCH
        }.sorted()
    }
}

/// The write end of an `AtomicFile` (or of any open descriptor): retries short writes and EINTR, and turns
/// errno into a `FileSystemError` naming the final path.
public final class FileSink {
    public let fd: Int32
    public let path: String
    private var closed = false

    public init(fd: Int32, path: String) { self.fd = fd; self.path = path }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError.last(path: path, action: "cannot write")
            }
            offset += n
        }
    }

    public func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }
    public func write(_ text: String) throws { try write(Data(text.utf8)) }

    /// Closes once; a second call does nothing (a descriptor number may already belong to another thread's file).
    public func close() throws {
        guard !closed else { return }
        closed = true
        if Glibc.close(fd) != 0 && errno != EINTR { throw FileSystemError.last(path: path, action: "cannot write") }
    }

    deinit { try? close() }
}

/// Directory helpers with one-line errors.
public enum Directory {
    /// Creates `path` and its parents; a file in the way is "not a directory", never a Foundation dump.
    public static func create(_ path: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw FileSystemError(path: path, action: "cannot create directory", code: ENOTDIR) }
            return
        }
        let parent = parentPath(path)
        if !parent.isEmpty, parent != path { try create(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw FileSystemError.last(path: path, action: "cannot create directory")
        }
    }

    public static func create(_ url: URL) throws { try create(url.standardizedFileURL.path) }

    /// fsync of a directory: makes the renames and creations inside it durable.
    public static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.last(path: path, action: "cannot sync directory") }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw FileSystemError.last(path: path, action: "cannot sync directory") }
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes a whole directory atomically: `fill` populates a hidden staging directory beside `url`
    /// (`.<name>.<pid>.<random>.partial`), whose files are then fsynced; the staging directory replaces `url`
    /// by renames (the previous one is moved aside first and removed last). `mayReplace` decides whether an
    /// existing `url` is ours to replace; when it says no, nothing is touched and the error names the path.
    /// Staging directories of killed runs are removed on the next call.
    public static func writeAtomically(to url: URL, durable: Bool = true,
                                       mayReplace: (URL) -> Bool, fill: (URL) throws -> Void) throws {
        let target = url.standardizedFileURL.path
        let parent = parentPath(target)
        let name = (target as NSString).lastPathComponent
        try create(parent)
        recoverInterruptedReplace(of: url)
        var st = stat()
        let exists = lstat(target, &st) == 0
        if exists, !mayReplace(url) {
            throw InputError(file: target, reason: "exists and is not a directory this step wrote; refusing to replace it (choose another output)")
        }
        AtomicFile.removeAbandonedTemporaries(directory: parent, name: name)
        let staging = parent + "/" + AtomicFile.temporaryName(for: name)
        if mkdir(staging, 0o755) != 0 { throw FileSystemError.last(path: target, action: "cannot create directory") }
        do {
            try fill(URL(fileURLWithPath: staging))
            if durable { try syncTree(staging) }
            try swapIn(staging, to: target, durable: durable)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    /// Puts the finished directory `staged` (a sibling of `target`, already synced) in place of `target` by
    /// renames: a previous `target` is moved aside first and removed last, and put back if the second rename
    /// fails. Lets a caller stage a directory, commit something else, and only then make it visible.
    public static func swapIn(_ staged: String, to target: String, durable: Bool = true) throws {
        let parent = parentPath(target)
        let name = (target as NSString).lastPathComponent
        var st = stat()
        if lstat(target, &st) == 0 {
            let aside = parent + "/" + AtomicFile.temporaryName(for: name, suffix: "previous")
            guard rename(target, aside) == 0 else { throw FileSystemError.last(path: target, action: "cannot replace") }
            guard rename(staged, target) == 0 else {
                let failure = FileSystemError.last(path: target, action: "cannot replace")
                rename(aside, target)
                throw failure
            }
            try? FileManager.default.removeItem(atPath: aside)
        } else {
            guard rename(staged, target) == 0 else { throw FileSystemError.last(path: target, action: "cannot write") }
        }
        if durable { try sync(parent) }
    }

    /// A run killed between the two renames of `writeAtomically` left the previous directory aside and none
    /// at `url`: put it back. Once `url` exists again, set-aside copies of dead runs are removed. Readers call
    /// this before looking for a directory that such a run may have been replacing.
    public static func recoverInterruptedReplace(of url: URL) {
        let target = url.standardizedFileURL.path
        let parent = parentPath(target)
        let name = (target as NSString).lastPathComponent
        for entry in AtomicFile.abandoned(in: parent, name: name, suffix: "previous") {
            var st = stat()
            if lstat(target, &st) != 0 {
                rename(parent + "/" + entry, target)
            } else {
                try? FileManager.default.removeItem(atPath: parent + "/" + entry)
            }
        }
    }

    /// fsync of every file and directory under `path`.
    static func syncTree(_ path: String) throws {
        let fm = FileManager.default
        for entry in (try? fm.subpathsOfDirectory(atPath: path)) ?? [] {
            let full = path + "/" + entry
            if exists(full) { try sync(full); continue }
            let fd = open(full, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FileSystemError.last(path: full, action: "cannot sync") }
            defer { Glibc.close(fd) }
            if fsync(fd) != 0 { throw FileSystemError.last(path: full, action: "cannot write") }
        }
        try sync(path)
    }
}
