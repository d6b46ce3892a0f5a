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
/// `readWholeFile` does ("no such file or directory"), broken JSON with where it breaks, other JSON as
/// "not a JSON object".
public func readJSONObject(_ path: String) throws -> [String: Any] {
    let data = try readWholeFile(path)
    let parsed: Any
    do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
        throw InputError(file: path, reason: jsonSyntaxProblem(error, in: data))
    }
    guard let object = parsed as? [String: Any] else { throw InputError(file: path, reason: "not a JSON object") }
    return object
}

/// Why `data` is not JSON, in our words and with the place: "not valid JSON: it ends early (at byte 7)" or
/// "not valid JSON at line 2, column 3". Foundation's own text ("The data couldn't be read…") never shows.
/// Without the data (an error met elsewhere) the place is a byte offset.
public func jsonSyntaxProblem(_ error: Error, in data: Data?) -> String {
    var ns = error as NSError
    if case DecodingError.dataCorrupted(let context) = error, let underlying = context.underlyingError { ns = underlying as NSError }
    let debug = (ns.userInfo[NSDebugDescriptionErrorKey] as? String ?? "").lowercased()
    if let data, data.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) }) { return "empty, not valid JSON" }
    if debug.contains("end of file") || debug.contains("unexpected end") {
        return "not valid JSON: it ends early" + (data.map { " (at byte \($0.count)): truncated?" } ?? ": truncated?")
    }
    // "… around character N." / "… at character N": the byte offset of the fault.
    guard debug.contains("character"), let offset = debug.split(whereSeparator: { !$0.isNumber }).last.flatMap({ Int($0) }) else {
        return "not valid JSON"
    }
    guard let data, offset <= data.count else { return "not valid JSON at byte \(offset)" }
    let before = data.prefix(offset)
    let line = before.filter { $0 == 0x0A }.count + 1
    let column = offset - (before.lastIndex(of: 0x0A).map { $0 - data.startIndex + 1 } ?? 0) + 1
    return "not valid JSON at line \(line), column \(column)"
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
