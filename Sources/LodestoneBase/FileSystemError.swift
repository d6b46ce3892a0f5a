import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file-system call that failed, as one line naming the path, what was attempted and the reason in words:
/// `runs/x/model.bin: cannot write: no space left on device`.
public struct FileSystemError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    /// What was attempted, e.g. "cannot write", "cannot create directory".
    public var action: String
    /// The errno value.
    public var code: Int32

    public init(path: String, action: String, code: Int32) { self.path = path; self.action = action; self.code = code }

    /// The error of the call that just failed (reads `errno`).
    public static func last(path: String, action: String) -> FileSystemError {
        FileSystemError(path: path, action: action, code: errno)
    }

    public var reason: String { errnoReason(code) }
    public var description: String { "\(path): \(action): \(reason)" }
    public var isDiskFull: Bool { code == ENOSPC || code == EDQUOT }
}

/// strerror in lower case, as it reads inside a sentence ("no space left on device").
public func errnoReason(_ code: Int32) -> String {
    let text = String(cString: strerror(code))
    return text.prefix(1).lowercased() + text.dropFirst()
}

/// One line for any error a step can meet. Our own errors describe themselves; Foundation's file errors
/// (which would print as `Error Domain=NSCocoaErrorDomain Code=640 …`) become `path: reason`.
public func describe(_ error: Error) -> String {
    if let decoding = error as? DecodingError { return describeDecoding(decoding) }
    let ns = error as NSError
    // JSONSerialization's errors carry no path: say what is wrong with the JSON, not "cannot read".
    if ns.domain == NSCocoaErrorDomain, ns.code == 3840 {   // NSPropertyListReadCorruptError: invalid JSON
        return jsonSyntaxProblem(error, in: nil)
    }
    switch ns.domain {
    case NSCocoaErrorDomain, NSPOSIXErrorDomain:
        break
    default:
        return String(describing: error)
    }
    let path = (ns.userInfo[NSFilePathErrorKey] as? String)
        ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        ?? (ns.userInfo["NSDestinationFilePath"] as? String)
    var reason: String
    if ns.domain == NSPOSIXErrorDomain {
        reason = errnoReason(Int32(ns.code))
    } else if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        reason = errnoReason(Int32(underlying.code))
    } else {
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: reason = errnoReason(ENOENT)
        case NSFileWriteOutOfSpaceError: reason = errnoReason(ENOSPC)
        case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: reason = errnoReason(EACCES)
        case NSFileWriteFileExistsError: reason = errnoReason(EEXIST)
        case NSFileWriteVolumeReadOnlyError: reason = errnoReason(EROFS)
        case NSFileReadCorruptFileError: reason = "unreadable or corrupt"
        case NSFileReadTooLargeError: reason = "file too large"
        case NSFileWriteInvalidFileNameError, NSFileReadInvalidFileNameError: reason = "invalid file name"
        default:
            reason = ns.code >= NSFileWriteUnknownError && ns.code <= 699 ? "cannot write" : "cannot read"
        }
    }
    return path.map { "\($0): \(reason)" } ?? reason
}

/// A JSONDecoder error as one line without Foundation's wording: the field's path and what is wrong with it.
func describeDecoding(_ error: DecodingError) -> String {
    func at(_ path: [CodingKey]) -> String {
        path.isEmpty ? "" : "field '" + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") + "': "
    }
    switch error {
    case .dataCorrupted(let context) where context.codingPath.isEmpty:
        // JSONDecoder on Linux keeps no position: say what is wrong, the caller names the file.
        return context.underlyingError.map { jsonSyntaxProblem($0, in: nil) } ?? "not valid JSON (truncated or damaged)"
    case .dataCorrupted(let context): return at(context.codingPath) + "invalid value"
    case .keyNotFound(let key, let context): return at(context.codingPath + [key]) + "missing"
    case .valueNotFound(let type, let context): return at(context.codingPath) + "null where \(type) is expected"
    case .typeMismatch(let type, let context): return at(context.codingPath) + "not a \(type)"
    @unknown default: return "not valid JSON"
    }
}
