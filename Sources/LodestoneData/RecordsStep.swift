import Foundation
import LodestoneBase
import LodestoneStorage

/// What a run of 02-data-records must do: reuse the sidecar's counts of unchanged objects, recount the rest.
public struct RecordsPlan {
    public var objects: [ObjectInfo]
    public var reused: [String: RecordsSidecar.Entry] = [:]   // by full key
    public var recount: [ObjectInfo] = []

    public init(objects: [ObjectInfo], sidecar: RecordsSidecar?, force: Bool) {
        self.objects = objects
        for info in objects {
            if !force, let entry = sidecar?.reusable(info) { reused[info.key] = entry } else { recount.append(info) }
        }
    }
}

/// The assembled result of a run: the counts to write, the new sidecar, and what went wrong.
public struct RecordsOutcome {
    public var counts: [String: Int] = [:]          // relative key → records
    public var sidecar = RecordsSidecar()
    /// One line each: corrupt gzip, I/O error, or (with `strict`) malformed lines.
    public var failures: [String] = []
    /// One line per reported malformed line: `key: line N: reason`.
    public var malformedReport: [String] = []
    public var malformedTotal = 0

    public init(plan: RecordsPlan, counted: [String: Result<RecordCount, Error>], strict: Bool) {
        for info in plan.objects {
            let relative = DataRecords.relativeKey(info.key)
            let entry: RecordsSidecar.Entry
            if let reused = plan.reused[info.key] {
                entry = reused
            } else if let result = counted[info.key] {
                switch result {
                case .success(let count):
                    sidecar.record(count, info: info)
                    entry = sidecar.entries[relative]!
                case .failure(let error):
                    failures.append(String(describing: error))
                    continue
                }
            } else {
                continue
            }
            sidecar.entries[relative] = entry
            malformedTotal += entry.malformedLines
            for sample in entry.malformedSamples ?? [] {
                malformedReport.append("\(info.key): line \(sample.line): \(sample.reason)")
            }
            if entry.malformedLines > (entry.malformedSamples?.count ?? 0) {
                malformedReport.append("\(info.key): … \(entry.malformedLines) malformed lines in all")
            }
            if strict && entry.malformedLines > 0 {
                let first = entry.malformedSamples?.first.map { "line \($0.line): \($0.reason)" } ?? ""
                failures.append("\(info.key): \(entry.malformedLines) malformed lines (--strict); first at \(first)")
                continue
            }
            counts[relative] = entry.records
        }
    }
}

/// Counts `objects` on `jobs` threads, calling `progress` with a progress line every `interval` seconds
/// (files done, compressed bytes read, bytes/s) and `onCounted` (serialized) as each object finishes.
public func countRecordsInParallel(store: ObjectStore, objects: [ObjectInfo], jobs: Int, interval: Double = 2,
                                   progress: @escaping @Sendable (String) -> Void = { _ in },
                                   onCounted: @escaping (ObjectInfo, Result<RecordCount, Error>) -> Void = { _, _ in })
    -> [String: Result<RecordCount, Error>] {
    let counter = ParallelRecordCounter()
    let started = Date()
    let done = DispatchSemaphore(value: 0)
    let ticker = Thread {
        while done.wait(timeout: .now() + interval) == .timedOut {
            progress(progressLine(counter.snapshot, seconds: Date().timeIntervalSince(started)))
        }
    }
    ticker.start()
    var results: [String: Result<RecordCount, Error>] = [:]
    counter.run(store: store, objects: objects, jobs: jobs) { info, result in
        results[info.key] = result   // onFinish calls are serialized by the counter
        onCounted(info, result)
    }
    done.signal()
    progress(progressLine(counter.snapshot, seconds: Date().timeIntervalSince(started)))
    return results
}

/// `counted data/x.json.gz: 12 records, 12 lines (texts)`: the line 02 prints as an object finishes.
public func countedLine(_ c: RecordCount) -> String {
    "counted \(c.key): \(c.records) records, \(c.lines) lines (\(c.format))"
        + (c.malformedLines > 0 ? ", \(c.malformedLines) malformed" : "")
}

/// The sidecar of a run in progress, saved (atomically) each time an object is counted, so an interrupted run
/// keeps what it finished and the rerun counts only the rest.
public final class SidecarJournal: @unchecked Sendable {
    public let file: URL
    private let lock = NSLock()
    private var sidecar = RecordsSidecar()
    private var counted = 0

    /// Starts from the entries the plan reuses.
    public init(file: URL, plan: RecordsPlan) {
        self.file = file
        for info in plan.objects { if let e = plan.reused[info.key] { sidecar.entries[DataRecords.relativeKey(info.key)] = e } }
    }

    /// Adds a finished count and saves the sidecar file.
    public func record(_ count: RecordCount, info: ObjectInfo) throws {
        lock.lock(); defer { lock.unlock() }
        sidecar.record(count, info: info)
        counted += 1
        try AtomicFile.write(try sidecar.encoded(), to: file)
    }

    /// Runs `body` with no save in progress (and none starting): for a clean exit on interrupt.
    public func hold<T>(_ body: (_ counted: Int) -> T) -> T {
        lock.lock()
        return body(counted)   // the lock stays held: the process is about to exit
    }
}

func progressLine(_ p: ParallelRecordCounter.Progress, seconds: Double) -> String {
    let rate = seconds > 0 ? Double(p.compressedBytes) / seconds : 0
    return "progress: \(p.filesDone)/\(p.filesTotal) files, \(formatBytes(p.compressedBytes)) of "
        + "\(formatBytes(p.compressedTotal)) compressed, \(formatBytes(Int64(rate)))/s, "
        + String(format: "%.1f s", seconds)
}
