import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An open descriptor of a readable regular file (and its size), or a `FileSystemError` naming the path and
/// the reason ("no such file or directory", "is a directory") instead of Foundation's error dump.
func openForReading(_ path: String) throws -> (fd: Int32, size: Int) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileSystemError.last(path: path, action: "cannot read") }
    var st = stat()
    guard fstat(fd, &st) == 0 else { let e = FileSystemError.last(path: path, action: "cannot read"); close(fd); throw e }
    if (st.st_mode & S_IFMT) == S_IFDIR { close(fd); throw FileSystemError(path: path, action: "cannot read", code: EISDIR) }
    return (fd, Int(st.st_size))
}

/// Throws the one-line reason `path` cannot be read, if there is one: for callers that read another way
/// (memory-mapping) and need a clear message when that fails, without reading the file.
public func checkReadable(_ path: String) throws {
    close(try openForReading(path).fd)
}

/// A file holding one JSON object (config.json and its kin): missing or unreadable files fail as
/// `readWholeFile` does, anything else as "not a JSON object".
public func readJSONObject(_ path: String) throws -> [String: Any] {
    guard let object = (try? JSONSerialization.jsonObject(with: try readWholeFile(path))) as? [String: Any] else {
        throw InputError(file: path, reason: "not a JSON object")
    }
    return object
}

/// The whole file, or a `FileSystemError` naming the path and the reason ("no such file or directory",
/// "is a directory") instead of Foundation's error dump.
public func readWholeFile(_ path: String) throws -> Data {
    let (fd, size) = try openForReading(path)
    defer { close(fd) }
    var data = Data(count: max(size, 0))
    var filled = 0
    while true {
        if filled == data.count { data.count += max(1 << 16, data.count / 2) }
        let n = data.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
        if n < 0 {
            if errno == EINTR { continue }
            throw FileSystemError.last(path: path, action: "cannot read")
        }
        if n == 0 { break }
        filled += n
    }
    data.count = filled
    return data
}
