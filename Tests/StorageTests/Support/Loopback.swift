import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP port with nothing listening on it (bound, then released): connections to it are refused.
func deadLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
    }
    _ = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A tmpfs of `size` (e.g. "64k") mounted on a fresh directory: a disk that fills up. nil when mounting is not
/// allowed here (the test then skips).
final class TinyDisk {
    let mountPoint: URL

    init?(size: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lodestone-tmpfs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        guard Self.tool("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", dir.path]) == 0 else {
            try? FileManager.default.removeItem(at: dir)
            return nil
        }
        mountPoint = dir
    }

    func unmount() {
        _ = Self.tool("/bin/umount", [mountPoint.path])
        try? FileManager.default.removeItem(at: mountPoint)
    }

    static func tool(_ path: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: FileManager.default.fileExists(atPath: path) ? path : "/usr" + path)
        p.arguments = args
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
