import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

public enum TransferOutcome: Sendable, Equatable {
    case stored(bytes: Int64)
    case alreadyPresent(bytes: Int64)
    case failed(String)
}

public struct IngestReport: Sendable {
    public var outcomes: [(transfer: PlannedTransfer, outcome: TransferOutcome)] = []
    public var skipped: [(name: String, reason: String)] = []
    public var failures: [(name: String, reason: String)] = []
    public var seconds: Double = 0

    public var storedBytes: Int64 {
        outcomes.reduce(0) { if case .stored(let b) = $1.outcome { return $0 + b } else { return $0 } }
    }
}

/// Runs an ingest plan: `jobs` transfers at a time, each streamed from its source into the store with
/// retries, verified (size, sha256 where known) and committed atomically. One failure never stops the others.
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
        let queue = WorkQueue(count: transfers.count)
        progress.begin(total: transfers.count, bytes: transfers.compactMap(\.size).reduce(0, +))
        let group = DispatchGroup()
        for _ in 0..<max(1, min(jobs, transfers.count)) {
            group.enter()
            let worker = Thread { [self] in
                while let i = queue.take() { queue.record(i, self.perform(transfers[i])) }
                group.leave()
            }
            worker.stackSize = 1 << 20
            worker.start()
        }
        group.wait()
        progress.end()
        for (t, o) in zip(transfers, queue.outcomes) {
            let outcome = o ?? .failed("not run")
            report.outcomes.append((t, outcome))
            if case .failed(let reason) = outcome { report.failures.append((t.name, reason)) }
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// One transfer: skip when a complete copy is present, else stream it in.
    func perform(_ t: PlannedTransfer) -> TransferOutcome {
        do {
            if let present = try completeCopy(t) {
                progress.finished(t, outcome: .alreadyPresent(bytes: present))
                return .alreadyPresent(bytes: present)
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
            return .stored(bytes: bytes)
        } catch {
            let outcome = TransferOutcome.failed("\(error)")
            progress.finished(t, outcome: outcome)
            return outcome
        }
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

/// Hands out transfer indices to the worker threads and collects their outcomes.
private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private let count: Int
    private(set) var outcomes: [TransferOutcome?]

    init(count: Int) { self.count = count; outcomes = Array(repeating: nil, count: count) }

    func take() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    func record(_ i: Int, _ o: TransferOutcome) { lock.lock(); outcomes[i] = o; lock.unlock() }
}
