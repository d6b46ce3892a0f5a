// Running the built step executables (03-mosaic-model, 05-embed) as a user would, and a small tmpfs for
// full-disk tests.
import Foundation
import XCTest

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The repo's mosaic-tiny reference fixture (Tests/Fixtures/reference): a model directory 05 can load and a
/// config 03 can initialise from. bert-tiny lies beside it.
var mosaicTiny: URL { packageRoot.appendingPathComponent("Tests/Fixtures/reference/mosaic-tiny") }

/// bert-base-uncased's vocabulary, as the repo carries it.
var bertBaseUncasedVocab: URL { packageRoot.appendingPathComponent("data/bert-base-uncased/vocab.txt") }

struct StepResult {
    let status: Int32
    let output: String
}

/// Runs a product built next to the test bundle and returns its exit status and stdout+stderr.
func runStep(_ name: String, _ args: [String], testCase: AnyClass = StepCLITests.self) throws -> StepResult {
    let bundle = Bundle(for: testCase).bundleURL
    let executable = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent(name) }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    guard let executable else { throw XCTSkip("\(name) is not built next to the tests (swift build --build-tests)") }
    let p = Process()
    p.executableURL = executable
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe; p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return StepResult(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
}

/// A tmpfs of `kilobytes` at a fresh directory (root only, as CI runs); unmounted by `unmount`.
func mountSmallDisk(kilobytes: Int) throws -> URL {
    let dir = try temporaryDirectory("disk")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/mount")
    p.arguments = ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", dir.path]
    try p.run(); p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here (needs root)") }
    return dir
}

func unmount(_ dir: URL) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/umount")
    p.arguments = [dir.path]
    try? p.run(); p.waitUntilExit()
    try? FileManager.default.removeItem(at: dir)
}

/// A pid that no longer runs: a finished child's.
func deadProcessID() throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/true")
    try p.run(); p.waitUntilExit()
    return p.processIdentifier
}
