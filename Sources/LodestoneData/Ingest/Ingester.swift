import Foundation
import LodestoneBase
import LodestoneStorage
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Runs an ingest plan: `jobs` transfers at a time, each streamed from its source into the store with
/// retries, verified (size, sha256 where known) and committed atomically. A failed transfer never stops the
/// others, except for the errors that would fail them all (an unreachable store, a full or read-only disk): those
/// end the run.
public final class Ingester: @unchecked Sendable {
    let store: ObjectStore
    let http: HTTPClient
    let logger: Logger
    public var jobs = 4
    /// Re-hash existing objects whose sha256 is known before skipping them.
    public var verifyExisting = true
    let progress: IngestProgress

    public init(store: ObjectStore, http: HTTPClient, logger: Logger, progress: IngestProgress) {
        self.store = store; self.http = http; self.logger = logger; self.progress = progress
    }

    public func run(_ plan: IngestPlan) -> IngestReport {
        let started = Date()
        var report = IngestReport()
        report.skipped = plan.skipped
        report.failures = plan.failures
        let transfers = plan.transfers
        let outcomes = Outcomes(count: transfers.count)
        progress.begin(total: transfers.count, bytes: transfers.compactMap(\.size).reduce(0, +))
        forEachInParallel(count: transfers.count, jobs: jobs) { [self] i in
            guard outcomes.fatal == nil else { return }
            let outcome = perform(transfers[i])
            outcomes.record(i, outcome.outcome, fatal: outcome.fatal)
        }
        progress.end()
        report.fatal = outcomes.fatal
        for (t, o) in zip(transfers, outcomes.values) {
            let outcome = o ?? .failed("not run: \(outcomes.fatal.map(describe) ?? "stopped")")
            report.outcomes.append((t, outcome))
            if case .failed(let reason) = outcome { report.failures.append((t.name, reason)) }
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// One transfer: skip when a complete copy is present, else stream it in. An error that dooms every
    /// other transfer too (see `isFatal`) is passed up as `fatal`.
    func perform(_ t: PlannedTransfer) -> (outcome: TransferOutcome, fatal: Error?) {
        do {
            if let present = try completeCopy(t) {
                progress.finished(t, outcome: .alreadyPresent(bytes: present))
                return (.alreadyPresent(bytes: present), nil)
            }
            progress.started(t)
            // The source's announced size sizes S3 parts (a stream of unknown length gets growing parts).
            let sizeHint = t.size ?? (try? sourceSize(t)) ?? nil
            let (bytes, _) = try streamVerified(from: t.source, http: http, headers: t.headers, expectedSize: t.size,
                                                expectedSHA256: t.sha256, what: t.name,
                                                progress: { [progress] n in progress.advanced(t, to: n) }) { consume in
                try store.write(key: t.key, expectedSize: sizeHint) { writer in _ = try consume(writer) }
            }
            progress.finished(t, outcome: .stored(bytes: bytes))
            return (.stored(bytes: bytes), nil)
        } catch {
            let outcome = TransferOutcome.failed(describe(error))
            if Self.isFatal(error) { return (outcome, error) }   // reported once, by the step
            progress.finished(t, outcome: outcome)
            return (outcome, nil)
        }
    }

    /// Errors no other transfer can escape: the store's endpoint does not answer, its disk is full or read-only.
    static func isFatal(_ error: Error) -> Bool {
        if case .unreachable? = error as? StorageError { return true }
        guard let fs = error as? FileSystemError else { return false }
        return fs.isDiskFull || fs.code == EROFS
    }

    /// The size of the object under `t.key` when it is complete (right size, right sha256 where known);
    /// nil when it must be (re)fetched. Writes are atomic, so an object that exists was fully written once;
    /// the checks catch a source that changed or a store that was tampered with.
    func completeCopy(_ t: PlannedTransfer) throws -> Int64? {
        guard let info = try store.head(key: t.key) else { return nil }
        var expected = t.size
        if expected == nil { expected = try? sourceSize(t) }
        if let e = expected, e != info.size {
            logger.info("\(t.key): stored size \(info.size) differs from source size \(e); fetching again")
            return nil
        }
        if let want = t.sha256, verifyExisting {
            let have = try sha256(of: store, key: t.key)
            if have != want.lowercased() {
                logger.info("\(t.key): stored sha256 differs from the listing; fetching again")
                return nil
            }
        }
        return info.size
    }

    /// The source's size without downloading it: stat for files, HEAD for HTTP (nil when not told).
    func sourceSize(_ t: PlannedTransfer) throws -> Int64? {
        switch t.source {
        case .file(let path):
            var st = stat()
            return stat(path, &st) == 0 ? Int64(st.st_size) : nil
        case .http(let url):
            let r = try http.send(HTTPRequest(method: "HEAD", url: url, headers: t.headers))
            guard r.status == 200 else { return nil }
            return r.headers["content-length"].flatMap { Int64($0) }
        }
    }
}

/// The outcome of each transfer, filled by the worker threads, and the first fatal error.
private final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [TransferOutcome?]
    private var firstFatal: Error?

    init(count: Int) { stored = Array(repeating: nil, count: count) }

    var values: [TransferOutcome?] { lock.lock(); defer { lock.unlock() }; return stored }
    var fatal: Error? { lock.lock(); defer { lock.unlock() }; return firstFatal }

    func record(_ i: Int, _ o: TransferOutcome, fatal: Error?) {
        lock.lock(); stored[i] = o
        if firstFatal == nil { firstFatal = fatal }
        lock.unlock()
    }
}
