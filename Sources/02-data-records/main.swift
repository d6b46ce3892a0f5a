// 02-data-records — the Data_Records notebook.
//
// Counts the training examples in every object under `data/` of the store (`*.json.gz`, `*.jsonl.gz`) by streaming
// gunzip, and writes `data_records.json` ({key relative to data/: count}, keys sorted, the original's format)
// to --output and into the store. The count of a file is what the trainer will yield from it: the record-format
// rules live in `RecordParser` (LodestoneData), shared with 04-training.
//
// Reads:  the store's `data/…json.gz`; the previous sidecar (data_records.sidecar.json) if any.
// Writes: --output (default data/data_records.json) and `data_records.json` in the store, both atomically,
//         plus the sidecar (size, ETag/mtime, format, malformed lines per key), saved as each object is counted,
//         so that a rerun recounts only changed or not yet counted objects.
// Exit status: 0 when every object was counted; 1 when any failed (corrupt gzip, I/O) or, with --strict,
//         held malformed lines (failed objects are left out of data_records.json; the others are still written),
//         and when the store holds no training objects (nothing is written then); 130 on Ctrl-C, after saving
//         the sidecar of the objects already counted (data_records.json is left as it was).
import ArgumentParser
import Foundation
import LodestoneCLI
import LodestoneCore
import Logging

BLASStartup.choose(step: "02-data-records")   // first: it may start the program again on another kernel

struct DataRecordsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "02-data-records",
        abstract: "Count the training records of every data/*.json.gz object into data_records.json.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Where to write data_records.json (also copied into the store as data_records.json).")
    var output = "data/data_records.json"

    @Option(parsing: .upToNextOption, help: "Keys (relative to data/) to leave out, as the original did.")
    var exclude: [String] = ["cnn_dailymail_splitted.json.gz"]

    @Option(help: "Files counted in parallel (the number of cores unless given).")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Recount every object, ignoring the sidecar of the previous run.")
    var force = false

    @Flag(help: "Treat malformed lines as fatal for their file (it is left out; exit status 1).")
    var strict = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        try runStep("02-data-records") {
            LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
            let printer = ProgressPrinter(interval: 10)
            let say: @Sendable (String) -> Void = { printer.message("02-data-records: " + $0) }
            let outputFile = URL(fileURLWithPath: output)
            let sidecarFile = RecordsSidecar.file(for: outputFile)

            // 1. Open the store written by 01-dataloading (it must exist: a mistyped --store creates nothing).
            //    One run per local store (a lock held until exit); the outputs must not be objects of the store.
            let store = try storeOptions.open(create: false)
            let storeInput = (store as? LocalStore).map { [OutputGuard.Input("--store", $0.root.path)] } ?? []
            try OutputGuard.checkFile(outputFile.path, flag: "--output", inputs: storeInput)
            try OutputGuard.checkFile(sidecarFile.path, flag: "--output", inputs: storeInput)
            if let local = store as? LocalStore { try OutputLock.hold(directory: local.root.path, step: "02-data-records") }

            // 2. List the training objects under data/, minus the exclusions (the original skipped cnn_dailymail_splitted).
            //    None at all is an error: counting nothing would replace a good data_records.json with {}.
            let objects = try DataRecords.listTrainingObjects(store: store, exclude: exclude)
            guard !objects.isEmpty else { throw NoTrainingObjects(store: "\(store)", exclude: exclude) }
            say("\(objects.count) objects under data/ in \(store)")

            // 3. Read the previous data_records.json (ours or the original's) to report what changed.
            let previous = DataRecords.readPrevious(file: outputFile, warn: say)

            // 4. Plan: reuse the sidecar's count of every object whose size and ETag/mtime are unchanged.
            let sidecar = RecordsSidecar.load(file: sidecarFile, store: store, warn: say)
            let plan = RecordsPlan(objects: objects, sidecar: sidecar, force: force)
            say("\(plan.reused.count) unchanged (sidecar), \(plan.recount.count) to count with \(jobs) jobs")

            // 5. Count the rest: parallel across files, streaming gunzip, progress with bytes/s. Each finished count
            //    goes into the sidecar file at once, so Ctrl-C keeps it (the rerun counts only the rest).
            let journal = SidecarJournal(file: sidecarFile, plan: plan)
            let interrupt = onInterrupt {
                journal.hold { counted in
                    printer.message("02-data-records: interrupted: \(counted) of \(plan.recount.count) objects counted "
                                    + "are kept in \(sidecarFile.path); rerun to count the rest")
                    Foundation.exit(interruptedExitStatus)
                }
            }
            defer { interrupt.cancel() }
            let saveFailure = Latch<Error>()
            let counted = countRecordsInParallel(store: store, objects: plan.recount, jobs: jobs,
                                                 progress: { printer.update(line: $0) }) { info, result in
                guard case .success(let count) = result else { return }   // failures are reported in the summary
                say(countedLine(count))
                do { try journal.record(count, info: info) } catch { saveFailure.set(error) }
            }
            if let error = saveFailure.value { throw error }

            // 6. Assemble counts; corrupt files and (with --strict) malformed lines become failures.
            let outcome = RecordsOutcome(plan: plan, counted: counted, strict: strict)
            outcome.malformedReport.forEach { say("malformed: " + $0) }

            // 7. Write data_records.json (local and store) and the sidecar, atomically. When every object failed
            //    there is nothing to write: the previous file stays as it was.
            guard !outcome.counts.isEmpty else {
                say("every object failed; \(output) is left as it was:")
                outcome.failures.forEach { say($0) }
                throw ExitCode(1)
            }
            try DataRecords.write(outcome.counts, file: outputFile, store: store)
            try outcome.sidecar.save(file: sidecarFile, store: store)

            // 8. Summary in the original's spirit; non-zero exit when anything failed.
            let total = outcome.counts.values.reduce(0, +)
            let changed = previous.map { DataRecords.changedKeys(from: $0, to: outcome.counts) }
            say("\(outcome.counts.count) keys, \(total) records in \(output) and \(store)/\(DataRecords.storeKey)"
                + (outcome.malformedTotal > 0 ? "; \(outcome.malformedTotal) malformed lines not counted" : "")
                + (changed.map { "; \($0) keys differ from the previous file" } ?? ""))
            if !outcome.failures.isEmpty {
                say("\(outcome.failures.count) object(s) failed:")
                outcome.failures.forEach { say($0) }
                throw ExitCode(1)
            }
        }
    }
}

/// A store with nothing to count: most likely the wrong --store.
struct NoTrainingObjects: Error, CustomStringConvertible {
    var store: String
    var exclude: [String]
    var description: String {
        "\(store): no training objects (data/*.json.gz or data/*.jsonl.gz)"
            + (exclude.isEmpty ? "" : " besides the excluded \(exclude.joined(separator: ", "))")
            + "; is this the store 01-dataloading wrote?"
    }
}

DataRecordsCommand.main()
