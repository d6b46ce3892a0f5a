// Outputs that are inputs in disguise (issue 16, defects 1–5), device nodes as outputs (defect 2), and one run
// per output (defect 9): the shared checks every step calls.
import Foundation
import XCTest
import LodestoneBase

final class OutputGuardTests: XCTestCase {
    var root: URL!
    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("guard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("beir/qrels"), withIntermediateDirectories: true)
        for name in ["beir/corpus.jsonl", "beir/queries.jsonl", "beir/qrels/test.tsv", "texts.txt"] {
            try Data("keep \(name)\n".utf8).write(to: root.appendingPathComponent(name))
        }
    }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    var inputs: [OutputGuard.Input] { [.init("--data", root.appendingPathComponent("beir").path), .init("--input", root.appendingPathComponent("texts.txt").path)] }

    func assertRefused(_ output: String, naming words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try OutputGuard.checkFile(output, flag: "--json", inputs: inputs), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
            for w in [output] + words { XCTAssertTrue(text.contains(w), "expected '\(w)' in: \(text)", file: file, line: line) }
        }
    }

    func testAFileInsideAnInputDirectoryIsRefusedHoweverItIsSpelled() throws {
        let beir = root.appendingPathComponent("beir").path
        assertRefused(beir + "/corpus.jsonl", naming: ["--data", beir])
        assertRefused(beir + "/../beir/queries.jsonl", naming: ["--data"])
        assertRefused(beir + "/qrels/new.tsv", naming: ["--data"])   // not there yet: still inside
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link").path, withDestinationPath: beir)
        assertRefused(root.appendingPathComponent("link/qrels/test.tsv").path, naming: ["--data"])
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("scores.json").path,
                                                   withDestinationPath: beir + "/corpus.jsonl")
        assertRefused(root.appendingPathComponent("scores.json").path, naming: ["--data"])
        // A hard link elsewhere of a file inside the input directory.
        XCTAssertEqual(link(beir + "/queries.jsonl", root.appendingPathComponent("q.json").path), 0)
        assertRefused(root.appendingPathComponent("q.json").path, naming: ["hard link", beir + "/queries.jsonl"])
        // An input file and its hard link.
        XCTAssertEqual(link(root.appendingPathComponent("texts.txt").path, root.appendingPathComponent("t.json").path), 0)
        assertRefused(root.appendingPathComponent("t.json").path, naming: ["--input"])
        // Beside the inputs is fine.
        XCTAssertNoThrow(try OutputGuard.checkFile(root.appendingPathComponent("scores2.json").path, flag: "--json", inputs: inputs))
        XCTAssertNoThrow(try OutputGuard.checkFile(root.appendingPathComponent("new/dir/s.json").path, flag: "--json", inputs: inputs))
    }

    func testADirectoryOutputMayNotHoldOrLieInsideAnInput() throws {
        let run = root.appendingPathComponent("runs/mo")
        try FileManager.default.createDirectory(at: run.appendingPathComponent("model"), withIntermediateDirectories: true)
        let model = OutputGuard.Input("--model", run.appendingPathComponent("model").path)
        XCTAssertThrowsError(try OutputGuard.checkDirectory(run.path, flag: "--output", inputs: [model], mustNotHold: [model])) {
            XCTAssertTrue("\($0)".contains("holds --model \(model.path)"), "\($0)")
        }
        XCTAssertThrowsError(try OutputGuard.checkDirectory(model.path + "/run", flag: "--output", inputs: [model])) {
            XCTAssertTrue("\($0)".contains("is inside --model \(model.path)"), "\($0)")
        }
        XCTAssertNoThrow(try OutputGuard.checkDirectory(root.appendingPathComponent("runs/other").path, flag: "--output",
                                                        inputs: [model], mustNotHold: [model]))
    }

    /// mknod needs root (as CI runs); elsewhere the device tests are skipped.
    func makeNode(_ name: String, _ kind: String, _ major: Int, _ minor: Int) throws -> String {
        let path = root.appendingPathComponent(name).path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/mknod")
        p.arguments = [path, kind, String(major), String(minor)]
        try p.run(); p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("cannot mknod here (needs root)") }
        return path
    }

    func isCharacterDevice(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
    }

    func testADeviceIsWrittenThroughNeverReplaced() throws {
        let null = try makeNode("null.npy", "c", 1, 3)
        XCTAssertNoThrow(try OutputGuard.checkFile(null, flag: "--output", inputs: inputs))
        try AtomicFile.write(Data("embeddings".utf8), to: URL(fileURLWithPath: null))
        XCTAssertTrue(isCharacterDevice(null), "still the device")
        let full = try makeNode("full.json", "c", 1, 7)
        XCTAssertThrowsError(try AtomicFile.write(Data("scores".utf8), to: URL(fileURLWithPath: full))) {
            XCTAssertEqual("\($0)", "\(full): cannot write: no space left on device")
        }
        XCTAssertTrue(isCharacterDevice(full), "/dev/full stays a device")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }, [])
        // A block device is refused outright (never written, never replaced).
        let block = try makeNode("disk.npy", "b", 7, 0)
        XCTAssertThrowsError(try OutputGuard.checkFile(block, flag: "--output", inputs: [])) {
            XCTAssertTrue("\($0)".contains("block device"), "\($0)")
        }
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: URL(fileURLWithPath: block)))
        var st = stat()
        XCTAssertTrue(lstat(block, &st) == 0 && (st.st_mode & S_IFMT) == S_IFBLK)
    }

    func testOneRunPerOutputAndAStaleLockNeverBlocks() throws {
        let dir = root.appendingPathComponent("run").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var first: OutputLock? = try OutputLock(directory: dir, step: "04-training")
        XCTAssertThrowsError(try OutputLock(directory: dir, step: "04-training")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("pid \(getpid())") && text.contains(ProcessInfo.processInfo.hostName), text)
            XCTAssertTrue(text.hasPrefix(dir + ": in use by another run"), text)
        }
        first = nil
        XCTAssertNotNil(first == nil ? try OutputLock(directory: dir, step: "04-training") : nil)

        // A holder killed with SIGKILL leaves the file, not the lock.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")   // one process holding the lock: sh execs sleep
        holder.arguments = ["-c", "exec 9>>'\(dir)/\(OutputLock.fileName)'; flock 9; exec sleep 30"]
        try holder.run()
        var blocked = false
        for _ in 0..<100 {
            if (try? OutputLock(directory: dir, step: "x")) == nil { blocked = true; break }
            usleep(20_000)
        }
        XCTAssertTrue(blocked, "flock(1) took the lock")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        XCTAssertNoThrow(try OutputLock(directory: dir, step: "04-training"))
    }

    /// 04's --log-batches: a file that is another output of the run (existing or not yet) or lies under one of
    /// its output directories, however it is spelled.
    func testAFileThatIsAnotherOutputIsRefusedHoweverItIsSpelled() throws {
        let run = root.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try Data("step\n".utf8).write(to: run.appendingPathComponent("loss.csv"))
        let files = [OutputGuard.Input("loss.csv of --output", run.appendingPathComponent("loss.csv").path),
                     OutputGuard.Input("train_logs.txt of --output", run.appendingPathComponent("train_logs.txt").path)]
        let directories = [OutputGuard.Input("model/ of --output", run.appendingPathComponent("model").path)]
        func check(_ path: String) throws { try OutputGuard.checkNotOtherOutput(path, flag: "--log-batches", files: files, directories: directories) }
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("alias").path, withDestinationPath: run.path)
        XCTAssertEqual(link(run.appendingPathComponent("loss.csv").path, root.appendingPathComponent("hard.csv").path), 0)
        for (path, words) in [(root.appendingPathComponent("alias/loss.csv").path, "is loss.csv of --output"),
                              (root.appendingPathComponent("hard.csv").path, "is loss.csv of --output"),
                              (root.appendingPathComponent("alias/../run/train_logs.txt").path, "is train_logs.txt of --output"),
                              (run.path + "/model/x/b.jsonl", "is inside model/ of --output"),
                              (root.appendingPathComponent("alias/model").path, "is inside model/ of --output")] {
            XCTAssertThrowsError(try check(path), path) { XCTAssertTrue("\($0)".contains(words), "\(path): \($0)") }
        }
        XCTAssertNoThrow(try check(run.appendingPathComponent("batches.jsonl").path))
        XCTAssertNoThrow(try check(run.appendingPathComponent("model.jsonl").path))
    }
}
