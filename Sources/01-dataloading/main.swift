// 01-dataloading — the Dataloading notebook.
//
// Pulls every training file named in the manifests into one object store, streaming each body straight
// into the store (no full local copy, bounded memory):
//   reads   <manifests>/GoogleSheets_datasets.tsv, HuggingFace_datasets.tsv (Name → download link)
//           <manifests>/HuggingFace_repos.tsv (Hub dataset repos, pulled file by file minus exclusions)
//   writes  <store>/data/<Name>.json.gz and <store>/data/<repo-name>/<file>.json.gz
// Reruns skip complete objects; a killed run leaves no partial object under a final key.
// Exit status: 0 when every planned object is in the store; 1 when any failed, and at once (one line) when the
//         store cannot be used at all (an unreachable S3 endpoint, a full or read-only disk); 2 for a bad manifest.
import ArgumentParser
import Foundation
import LodestoneCLI
import LodestoneCore
import Logging

BLASStartup.choose(step: "01-dataloading")   // first: it may start the program again on another kernel

struct Dataloading: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "01-dataloading",
        abstract: "Stream the training data named in the manifests into an object store (local directory or S3).")

    @Option(help: "Directory holding the manifests (whichever of GoogleSheets_datasets.tsv, HuggingFace_datasets.tsv, HuggingFace_repos.tsv exist).")
    var manifests = "data"

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Hugging Face Hub endpoint (default: $HF_ENDPOINT or https://huggingface.co; $HF_TOKEN is sent as a bearer token).")
    var hubEndpoint: String?

    @Option(parsing: .unconditional, help: "Parallel transfers.")
    var jobs = 4

    @Option(parsing: .unconditional, help: "Seconds without a byte before a transfer is aborted and retried.")
    var stallTimeout = 60.0

    @Option(parsing: .unconditional, help: "Attempts per request before a transfer fails (exponential backoff, Retry-After honoured).")
    var retries = 6

    @Flag(help: "Print the plan (name, source, destination, size if known) and transfer nothing.")
    var dryRun = false

    @Option(parsing: .upToNextOption, help: "Only these names: manifest Names, repo folders or repos, or <folder>/<file>.")
    var only: [String] = []

    @Flag(help: "Skip existing objects on size alone, without re-hashing those whose sha256 is known.")
    var noVerifyExisting = false

    @Flag(help: "Local store only: fsync each object before committing it (survives power loss; costs disk-bound speed). A killed process never leaves a partial object either way.")
    var fsync = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard stallTimeout > 0, stallTimeout.isFinite else { throw ValidationError("--stall-timeout must be positive") }
        guard retries >= 1 else { throw ValidationError("--retries must be at least 1") }
    }

    func run() throws {
        try runStep("01-dataloading") {
            LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
            let logger = Logger(label: "01-dataloading")
            let http = HTTPClient(retry: RetryPolicy(maxAttempts: retries, stallTimeout: stallTimeout), logger: logger)

            // 1. Read the manifests, like pandas read_csv(index_col=0, sep='\t'); a bad one stops here, before any write.
            let found: Manifests
            do { found = try Manifests.load(directory: URL(fileURLWithPath: manifests)) } catch {
                printError("01-dataloading", describe(error)); throw ExitCode(2)
            }
            logger.info("manifests: \(found.datasets.count) dataset rows, \(found.repos.count) Hub repos")

            // 2. Open the store: a local directory or s3://bucket/prefix.
            let destination = try storeOptions.open(http: http)
            (destination as? LocalStore)?.syncOnCommit = fsync

            // 3. Plan: manifest rows → data/<Name>.json.gz; Hub repo listings → data/<repo-name>/<file>.json.gz.
            let hub = HubClient(endpoint: hubEndpoint, http: http)
            let plan = try IngestPlanner.plan(found, hub: hub, only: only)

            // 4. With --dry-run, show the plan and stop.
            if dryRun {
                IngestText.planLines(plan, store: destination).forEach { print($0) }
                if !plan.failures.isEmpty { throw ExitCode(1) }
                return
            }

            // 5. Transfer: `--jobs` at a time, retried, verified, committed atomically; complete objects are skipped.
            //    An unreachable store or a full disk stops the whole run (every other transfer would fail the same way).
            //    One run per local store: a lock held until exit.
            if let local = destination as? LocalStore { try OutputLock.hold(directory: local.root.path, step: "01-dataloading") }
            let ingester = Ingester(store: destination, http: http, logger: logger, progress: IngestProgress(logger: logger))
            ingester.jobs = jobs
            ingester.verifyExisting = !noVerifyExisting
            let report = ingester.run(plan)
            if let fatal = report.fatal { throw fatal }

            // 6. Summary ("N objects, X GB in the store"), failures with reasons; non-zero exit if any failed.
            IngestText.summaryLines(report, store: destination).forEach { print($0) }
            if !report.failures.isEmpty { throw ExitCode(1) }
        }
    }
}

Dataloading.main()
