import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The whole file, or a `FileSystemError` naming the path and the reason ("no such file or directory",
/// "is a directory") instead of Foundation's error dump.
public func readWholeFile(_ path: String) throws -> Data {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileSystemError.last(path: path, action: "cannot read") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw FileSystemError.last(path: path, action: "cannot read") }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw FileSystemError(path: path, action: "cannot read", code: EISDIR) }
    var data = Data(count: max(Int(st.st_size), 0))
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
