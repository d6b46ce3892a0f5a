import Foundation
import XCTest

/// The package root, found from this file's path (Tests/StorageTests/Support/…).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
let serversDir = packageRoot.appendingPathComponent("Tests/StorageTests/Servers")

/// A Python helper server from Tests/StorageTests/Servers, started on loopback for one test.
/// It prints one JSON line describing itself, then serves until its stdin closes.
final class PythonServer {
    let process = Process()
    let stdin = Pipe()
    let info: [String: Any]

    init(script: String, arguments: [String] = []) throws {
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", serversDir.appendingPathComponent(script).path] + arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var line = Data()
        let handle = stdout.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let json = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            process.terminate()
            throw ServerError(message: "\(script) did not start (is python3 installed?)")
        }
        if let error = json["error"] as? String {
            process.terminate()
            throw ServerError(message: "\(script): \(error)")
        }
        info = json
    }

    var port: Int { info["port"] as! Int }
    var base: String { "http://127.0.0.1:\(port)" }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }

    struct ServerError: Error, CustomStringConvertible { var message: String; var description: String { message } }
}
