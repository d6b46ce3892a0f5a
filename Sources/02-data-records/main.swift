// 02-data-records — replaces Data_Records.ipynb.
//
// Counts the training examples in every object under `data/` of the store (`*.json.gz`, `*.jsonl.gz`) by streaming
// gunzip, and writes `data_records.json` ({key relative to data/: count}, keys sorted, the original's format)
// to --output and into the store. The count of a file is what the trainer will yield from it: the record-format
// rules live in `RecordParser` (LodestoneData), shared with 04-training.
//
// Reads:  the store's `data/…json.gz`; the previous sidecar (data_records.sidecar.json) if any.
// Writes: --output (default data/data_records.json) and `data_records.json` in the store, both atomically,
//         plus the sidecar (size, ETag/mtime, format, malformed lines per key) so that a rerun recounts only
//         changed objects.
// Exit status: 0 when every object was counted; 1 when any failed (corrupt gzip, I/O) or, with --strict,
//         held malformed lines. Failed objects are left out of data_records.json; the others are still written.
import ArgumentParser
import Foundation
import LodestoneCore
import Logging

struct DataRecordsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "02-data-records",
        abstract: "Count the training records of every data/*.json.gz object into data_records.json.")

    @Option(help: "Object store: a local directory or s3://bucket/prefix (same as 01-dataloading).")
    var store = "data/store"

    @Option(name: .customLong("endpoint-url"),
            help: "S3 endpoint URL, e.g. a local S3-compatible server (default: AWS_ENDPOINT_URL, else AWS).")
    var endpointURL: String?

    @Option(help: "Where to write data_records.json (also copied into the store as data_records.json).")
    var output = "data/data_records.json"

    @Option(parsing: .upToNextOption,
            help: "Keys (relative to data/) to leave out. Default: the original's exclusion.")
    var exclude: [String] = ["cnn_dailymail_splitted.json.gz"]

    @Option(help: "Files counted in parallel (default: the number of cores).")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Recount every object, ignoring the sidecar of the previous run.")
    var force = false

    @Flag(help: "Treat malformed lines as fatal for their file (it is left out; exit status 1).")
    var strict = false

    func run() throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var log = Logger(label: "02-data-records")
        log.logLevel = .info
        let say: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(("02-data-records: " + $0 + "\n").utf8)) }
        let outputFile = URL(fileURLWithPath: output)

        // 1. Open the store written by 01-dataloading.
        let store = try openStore(store, endpointURL: endpointURL)

        // 2. List the training objects under data/, minus the exclusions (the original skipped cnn_dailymail_splitted).
        let objects = try DataRecords.listTrainingObjects(store: store, exclude: exclude)
        say("\(objects.count) objects under data/ in \(store)")

        // 3. Read the previous data_records.json (ours or the original's) to report what changed.
        let previous = DataRecords.readPrevious(file: outputFile, warn: say)

        // 4. Plan: reuse the sidecar's count of every object whose size and ETag/mtime are unchanged.
        let sidecar = RecordsSidecar.load(file: RecordsSidecar.file(for: outputFile), store: store, warn: say)
        let plan = RecordsPlan(objects: objects, sidecar: sidecar, force: force)
        say("\(plan.reused.count) unchanged (sidecar), \(plan.recount.count) to count with \(jobs) jobs")

        // 5. Count the rest: parallel across files, streaming gunzip, progress with bytes/s.
        let counted = countRecordsInParallel(store: store, objects: plan.recount, jobs: jobs, report: say)

        // 6. Assemble counts; corrupt files and (with --strict) malformed lines become failures.
        let outcome = RecordsOutcome(plan: plan, counted: counted, strict: strict)
        outcome.malformedReport.forEach { say("malformed: " + $0) }

        // 7. Write data_records.json (local and store) and the sidecar, atomically.
        try DataRecords.write(outcome.counts, file: outputFile, store: store)
        try outcome.sidecar.save(file: RecordsSidecar.file(for: outputFile), store: store)

        // 8. Summary in the original's spirit; non-zero exit when anything failed.
        let total = outcome.counts.values.reduce(0, +)
        let changed = previous.map { old in outcome.counts.filter { old[$0.key] != $0.value }.count }
        say("\(outcome.counts.count) keys, \(total) records in \(output) and \(store)/\(DataRecords.storeKey)"
            + (outcome.malformedTotal > 0 ? "; \(outcome.malformedTotal) malformed lines not counted" : "")
            + (changed.map { "; \($0) keys differ from the previous file" } ?? ""))
        if !outcome.failures.isEmpty {
            log.error("\(outcome.failures.count) object(s) failed:")
            outcome.failures.forEach { log.error("\($0)") }
            throw ExitCode(1)
        }
    }
}

DataRecordsCommand.main()
