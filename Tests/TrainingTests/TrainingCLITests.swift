import Foundation
import XCTest
@testable import LodestoneCore

/// The `04-training` executable itself: flags, a real `kill -9` (the `crash` fault sends SIGKILL to the
/// process) and `--resume`, compared byte for byte with an unbroken run.
final class TrainingCLITests: XCTestCase {
    /// The built executable, next to the test bundle (`swift build --build-tests` / `swift test` build it).
    var executable: URL {
        let bundle = Bundle(for: Self.self).bundleURL   // the .xctest bundle, or on Linux its directory
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("04-training") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    func run(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, signaled: Bool, output: String) {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, p.terminationReason == .uncaughtSignal, String(decoding: data, as: UTF8.self))
    }

    func testKillNineThenResumeGivesTheSameModelBytes() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: executable.path), "\(executable.path) not built")
        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let store = try LocalStore(root: dir.appendingPathComponent("store"))
        try store.writeGzipLines(key: "data/pairs.json.gz", (0..<40).map { #"["question number \#($0)", "reply number \#($0)"]"# })
        try DataRecords.write(["pairs.json.gz": 40], file: dir.appendingPathComponent("records.json"), store: store)
        let common = ["--store", store.root.path, "--records", dir.appendingPathComponent("records.json").path,
                      "--model", RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny").path,
                      "--cycles", "1", "--chunks", "2", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4",
                      "--max-seq-length", "10", "--lr", "1e-3", "--warmup-steps", "0", "--threads", "1"]

        let straight = try run(common + ["--output", dir.appendingPathComponent("a").path])
        XCTAssertEqual(straight.status, 0, straight.output)

        let b = dir.appendingPathComponent("b").path
        let killed = try run(common + ["--output", b], env: ["LODESTONE_FAULTS": "crash@4"])
        XCTAssertTrue(killed.signaled && killed.status == SIGKILL, "killed by SIGKILL: \(killed.status) \(killed.output)")
        let refused = try run(common + ["--output", b])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("--resume"), refused.output)
        let resumed = try run(common + ["--output", b, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("resumed at cycle 0, chunk 1, epoch 0, step 0"), resumed.output)

        for file in ["model/model.safetensors", "train_logs.txt", "loss.csv"] {
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("a/" + file)),
                           try Data(contentsOf: URL(fileURLWithPath: b + "/" + file)), file)
        }
        XCTAssertEqual(try String(contentsOf: URL(fileURLWithPath: b + "/train_logs.txt"), encoding: .utf8),
                       "Succeeded on Cycle 0, Chunk 0, Epoch 0: 2 Steps Completed in Total\n" +
                       "Succeeded on Cycle 0, Chunk 1, Epoch 0: 4 Steps Completed in Total\n")
    }

    func testBadConfigFileIsOneClearLine() throws {
        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("bad.json")
        try Data(#"{"lr": "fast"}"#.utf8).write(to: config)
        let r = try run(["--config", config.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("bad.json") && r.output.contains("lr"), r.output)
    }
}
