// Running lodestone-mpi-check as a user would: plainly, or under `mpirun -np N` (as root on CI, hence
// --allow-run-as-root; --oversubscribe lets N exceed the cores).
import Foundation
import XCTest

struct JobResult {
    let status: Int32
    let output: String
    /// Seconds until the job ended (it is killed, and the test fails, past the limit).
    let seconds: Double
}

/// lodestone-mpi-check, built next to the test bundle by `swift build --build-tests` / `swift test`.
func checkExecutable() throws -> URL {
    let bundle = Bundle(for: DistributedCheckTests.self).bundleURL
    let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("lodestone-mpi-check") }
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw XCTSkip("lodestone-mpi-check is not built next to the tests (swift build --build-tests)")
    }
    return found
}

/// mpirun from PATH; the tests that need it skip, saying so, where Open MPI is not installed (Scripts/setup.sh
/// installs it, so on CI they run).
func mpirun() throws -> URL {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("mpirun")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    throw XCTSkip("mpirun is not on PATH: install openmpi-bin (Scripts/setup.sh does) to run the MPI tests")
}

/// Runs `executable arguments` with a hard limit; output (stdout and stderr) goes through a file, so a chatty
/// job cannot block on a full pipe.
func runJob(_ executable: URL, _ arguments: [String], in dir: URL, limit: Double = 120) throws -> JobResult {
    let logURL = dir.appendingPathComponent("job.log")
    FileManager.default.createFile(atPath: logURL.path, contents: nil)
    let log = try FileHandle(forWritingTo: logURL)
    defer { try? log.close() }
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    // One BLAS thread per rank, and no single-copy shared-memory transfer (containers often forbid the
    // cross-process reads it relies on).
    environment["OPENBLAS_NUM_THREADS"] = "1"
    environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
    p.environment = environment
    p.standardOutput = log; p.standardError = log
    let ended = DispatchSemaphore(value: 0)
    p.terminationHandler = { _ in ended.signal() }
    let start = Date()
    try p.run()
    if ended.wait(timeout: .now() + limit) == .timedOut {
        p.terminate()
        kill(p.processIdentifier, SIGKILL)
        _ = ended.wait(timeout: .now() + 10)
        let output = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        XCTFail("\(executable.lastPathComponent) \(arguments.joined(separator: " ")) still running after \(Int(limit)) s (hung):\n\(output)")
        return JobResult(status: -1, output: output, seconds: limit)
    }
    let output = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    return JobResult(status: p.terminationStatus, output: output, seconds: Date().timeIntervalSince(start))
}

/// `mpirun -np ranks lodestone-mpi-check arguments`.
func runRanks(_ ranks: Int, _ arguments: [String], in dir: URL, limit: Double = 120) throws -> JobResult {
    let check = try checkExecutable()
    return try runJob(try mpirun(), ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", check.path] + arguments,
                      in: dir, limit: limit)
}

func temporaryDirectory(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lodestone-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
