import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One run per output: an advisory `flock(2)` on `<directory>/.lodestone.lock`, held until the process ends.
/// A second run on the same directory fails at once with one line naming the process that holds it (pid,
/// host, step, start time, as that process wrote them into the file). The kernel drops the lock when its
/// holder dies, so a lock file left by a killed run never blocks: the next run simply takes it.
public final class OutputLock {
    public static let fileName = ".lodestone.lock"
    public let path: String
    private let fd: Int32

    /// Locks `directory` (which must exist) for `step`; throws `OutputInUse` when another process holds it.
    public init(directory: String, step: String) throws {
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemError.last(path: path, action: "cannot lock") }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let code = errno
            Glibc.close(fd)
            if code == EWOULDBLOCK { throw OutputInUse(directory: directory, holder: Self.holder(path)) }
            throw FileSystemError(path: path, action: "cannot lock", code: code)
        }
        let started = ISO8601DateFormatter().string(from: Date())
        let line = "pid \(getpid()) on host \(ProcessInfo.processInfo.hostName) (\(step), since \(started))\n"
        if ftruncate(fd, 0) == 0 { _ = line.withCString { Glibc.pwrite(fd, $0, strlen($0), 0) } }
    }

    /// Releases the lock (also done by the kernel when the process ends).
    deinit { Glibc.close(fd) }

    /// Who holds the lock, as the holder wrote it.
    static func holder(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return text.isEmpty ? "another process (starting up)" : text
    }

    /// Locks held for the rest of the process: a step takes its lock once and keeps it until it exits.
    nonisolated(unsafe) private static var held: [OutputLock] = []

    /// Locks `directory` for the rest of this process's life.
    public static func hold(directory: String, step: String) throws {
        held.append(try OutputLock(directory: directory, step: step))
    }
}

/// Another run holds the output's lock.
public struct OutputInUse: Error, CustomStringConvertible, Sendable {
    public var directory: String
    public var holder: String
    public var description: String {
        "\(directory): in use by another run: \(holder); one run per output (wait for it, stop it, or choose another output)"
    }
}
