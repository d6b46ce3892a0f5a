import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one check every step runs on its outputs before any work: an output is never an input in disguise.
/// Paths are compared as the kernel sees them, by device and inode, so symlinks, `..`, bind mounts and hard
/// links cannot hide that an output is an input file, lies inside an input directory (a BEIR directory,
/// `--model`, the store, the checkpoint store) or, for a directory output, holds an input directory.
/// Non-regular outputs: a character device or a FIFO (`/dev/null`, `/dev/stdout`) is written through, never
/// replaced (`AtomicFile` opens it instead of renaming over it, so `/dev/full` fails with "no space left on
/// device" and stays a device); a block device, a socket or anything else is refused.
public enum OutputGuard {
    /// An input of the run: `path` (a file or a directory) and how the user named it, e.g. "--model".
    public struct Input: Sendable {
        public var path: String
        public var flag: String
        public init(_ flag: String, _ path: String) { self.flag = flag; self.path = path }
    }

    /// Refuses `output` (a file the step will write, named by `flag`) when it is one of `inputs`, lies inside an
    /// input directory, or is a non-regular file that cannot be written through. One line names both paths.
    public static func checkFile(_ output: String, flag: String, inputs: [Input]) throws {
        try AtomicFile.checkWritable(output)
        try checkNotInside(output, flag: flag, inputs: inputs)
        guard let out = identity(output) else { return }
        for input in inputs {
            guard let other = identity(input.path) else { continue }
            if !other.isDirectory, other.same(as: out) {
                throw InputError(file: output, reason: "is \(input.flag) \(input.path), an input of this run; refusing to overwrite it (choose another \(flag))")
            }
            if other.isDirectory, out.isRegular, out.links > 1, let twin = hardLink(of: out, under: input.path) {
                throw InputError(file: output, reason: "is a hard link of \(twin), inside \(input.flag) \(input.path), an input of this run; refusing to overwrite it (choose another \(flag))")
            }
        }
    }

    /// Refuses `output` (a directory the step writes into, named by `flag`) when it lies inside an input
    /// directory or is an input file, and when it holds one of `mustNotHold` (e.g. 04's `--model`: training
    /// into the directory of its own base model would replace it).
    public static func checkDirectory(_ output: String, flag: String, inputs: [Input], mustNotHold: [Input] = []) throws {
        if let out = identity(output) {
            for input in inputs where identity(input.path)?.same(as: out) == true {
                throw InputError(file: output, reason: "is \(input.flag) \(input.path), an input of this run; choose another \(flag)")
            }
        }
        try checkNotInside(output, flag: flag, inputs: inputs)
        for input in mustNotHold {
            if enclosingDirectory(of: input.path, among: [Input(flag, output)]) != nil {
                throw InputError(file: output, reason: "holds \(input.flag) \(input.path), an input of this run, which the outputs would replace; choose another \(flag)")
            }
        }
    }

    /// Refuses `output` (a file named by `flag`) when it is one of the run's other output `files` or lies under
    /// one of its output `directories`, whether they exist yet or not: an existing file is compared by device
    /// and inode (hard links), and every path with its existing part resolved (symlinks, `..`).
    public static func checkNotOtherOutput(_ output: String, flag: String, files: [Input], directories: [Input]) throws {
        let out = resolvedPath(output)
        let outID = identity(output)
        for other in files {
            let sameFile = outID.flatMap { o in identity(other.path).map { $0.same(as: o) } } ?? false
            if sameFile || resolvedPath(other.path) == out {
                throw InputError(file: output, reason: "is \(other.flag) \(other.path), another output of this run; choose another \(flag)")
            }
        }
        for other in directories {
            let dir = resolvedPath(other.path)
            if out == dir || out.hasPrefix(dir == "/" ? "/" : dir + "/") {
                throw InputError(file: output, reason: "is inside \(other.flag) \(other.path), which this run writes; choose another \(flag)")
            }
        }
    }

    /// `path` as an absolute path whose deepest existing ancestor is resolved by the kernel (realpath), the
    /// rest appended as typed (`.` and `..` there taken as text): two spellings of a file not yet created agree.
    static func resolvedPath(_ path: String) -> String {
        var existing = path.isEmpty ? "." : path
        var rest: [String] = []
        while identity(existing) == nil {
            let parent = parentPath(existing)
            let name = String(existing.dropFirst(parent.count).drop { $0 == "/" }).split(separator: "/").first.map(String.init) ?? ""
            if !name.isEmpty { rest.insert(name, at: 0) }
            if parent == existing || parent.isEmpty { existing = "."; break }
            existing = parent
        }
        guard let real = realpath(existing, nil) else { return path }
        defer { free(real) }
        let base = String(cString: real)
        guard !rest.isEmpty else { return base }
        return URL(fileURLWithPath: (base == "/" ? "" : base) + "/" + rest.joined(separator: "/")).standardized.path
    }

    /// Refuses `output` when it, or the directory it would be created in, lies inside an input directory.
    static func checkNotInside(_ output: String, flag: String, inputs: [Input]) throws {
        let directories = inputs.filter { identity($0.path)?.isDirectory == true }
        if let input = enclosingDirectory(of: output, among: directories) {
            throw InputError(file: output, reason: "is inside \(input.flag) \(input.path), an input of this run; refusing to write there (choose another \(flag))")
        }
    }

    /// The first of `directories` that `path` (existing or not) is, or lies under: its deepest existing
    /// ancestor is resolved (symlinks, `..`) and each directory up to `/` is compared by device and inode.
    static func enclosingDirectory(of path: String, among directories: [Input]) -> Input? {
        let targets = directories.compactMap { d in identity(d.path).map { (d, $0) } }.filter { $0.1.isDirectory }
        guard !targets.isEmpty else { return nil }
        var existing = path.isEmpty ? "." : path   // the kernel resolves `..` and links below, not string rules
        while identity(existing) == nil {
            let parent = parentPath(existing)
            if parent == existing || parent.isEmpty { existing = "."; break }
            existing = parent
        }
        guard let real = realpath(existing, nil) else { return nil }
        var current = String(cString: real)
        free(real)
        while true {
            if let id = identity(current), let hit = targets.first(where: { $0.1.same(as: id) }) { return hit.0 }
            let parent = parentPath(current)
            if parent == current || parent.isEmpty { return nil }
            current = parent
        }
    }

    /// A file under `directory` with the same device and inode as `file` (only looked for when `file` has
    /// several links, so the common case costs nothing).
    static func hardLink(of file: FileIdentity, under directory: String) -> String? {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return nil }
        for case let entry as String in walker {
            let full = directory + "/" + entry
            if let id = identity(full), id.same(as: file) { return full }
        }
        return nil
    }

    struct FileIdentity {
        var device: UInt64, inode: UInt64, mode: UInt32, links: UInt64
        var isDirectory: Bool { mode & S_IFMT == S_IFDIR }
        var isRegular: Bool { mode & S_IFMT == S_IFREG }
        func same(as other: FileIdentity) -> Bool { device == other.device && inode == other.inode }
    }

    /// stat(2) of `path`, following symlinks; nil when it does not exist.
    static func identity(_ path: String) -> FileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), mode: UInt32(st.st_mode), links: UInt64(st.st_nlink))
    }
}
