import Foundation
import XCTest
@testable import LodestoneCore

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lodestone-data-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// Compresses with the system's `gzip` (a real gzip implementation, independent of the code under test).
func systemGzip(_ data: Data) throws -> Data {
    try runTool("/bin/gzip", ["-c", "-n"], input: data)
}

/// Decompresses with the system's `gzip -dc`.
func systemGunzip(_ data: Data) throws -> Data {
    try runTool("/bin/gzip", ["-dc"], input: data)
}

func runTool(_ path: String, _ arguments: [String], input: Data) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: FileManager.default.fileExists(atPath: path) ? path : "/usr" + path)
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    let writer = Thread { stdin.fileHandleForWriting.write(input); try? stdin.fileHandleForWriting.close() }
    writer.start()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw NSError(domain: "tool", code: Int(process.terminationStatus),
                      userInfo: [NSLocalizedDescriptionKey: "\(path) \(arguments) failed"])
    }
    return output
}

/// A ByteReader over bytes in memory, returning at most `chunk` bytes per read (to exercise refills).
final class MemoryReader: ByteReader {
    let data: [UInt8]
    var offset = 0
    let chunk: Int
    init(_ data: Data, chunk: Int = 1 << 16) { self.data = [UInt8](data); self.chunk = chunk }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, chunk, data.count - offset)
        if n > 0 { data.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) } }
        offset += n
        return n
    }
    func close() {}
}

/// A ByteWriter collecting bytes in memory.
final class MemoryWriter: ByteWriter {
    var data = Data()
    func write(_ bytes: UnsafeRawBufferPointer) throws { data.append(contentsOf: bytes) }
}

/// All lines of a gzip stream, as text, read through small input chunks (many inflate refills).
func readAllLines(_ gz: Data, name: String = "test.json.gz", window: Int = 1 << 20, chunk: Int = 1 << 16) throws -> [String] {
    let reader = try GzipLineReader(MemoryReader(gz, chunk: chunk), name: name, windowSize: window, inputSize: 4096)
    var lines: [String] = []
    while let text = try reader.nextLineString() { lines.append(text) }
    return lines
}

/// The package root (for data/sample), found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func json(_ value: Any) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes]), as: UTF8.self)
}
