import Foundation
import XCTest
@testable import LodestoneStorage

/// Deterministic pseudo-random bytes (SplitMix64), so expected content is known by construction.
func patternBytes(_ count: Int, seed: UInt64) -> Data {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    var out = Data(count: count)
    out.withUnsafeMutableBytes { raw in
        let p = raw.bindMemory(to: UInt8.self)
        var i = 0
        while i < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            for b in 0..<8 where i < count { p[i] = UInt8(truncatingIfNeeded: z >> (8 * UInt64(b))); i += 1 }
        }
    }
    return out
}

func temporaryDirectory(_ tag: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lodestone-\(tag)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

func write(_ data: Data, to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try data.write(to: url)
}

/// The fault-injecting loopback server (Servers/fault_server.py) over a fresh root directory.
final class FaultServer {
    let root: URL
    let server: PythonServer

    init() throws {
        root = try temporaryDirectory("served")
        server = try PythonServer(script: "fault_server.py", arguments: ["--root", root.path])
    }

    var base: String { server.base }

    func stats() throws -> [String: Int] {
        let data = try HTTPClient().send(HTTPRequest(url: base + "/stats")).body
        return (try JSONSerialization.jsonObject(with: data) as? [String: Int]) ?? [:]
    }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(at: root)
    }
}

/// Fast retries for tests: 50 ms backoff, 1 s stall timeout.
func quickHTTP(attempts: Int = 4) -> HTTPClient {
    HTTPClient(retry: RetryPolicy(maxAttempts: attempts, baseDelay: 0.05, maxDelay: 0.2, stallTimeout: 1))
}
