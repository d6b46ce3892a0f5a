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

/// Counts `objects` on `jobs` threads, calling `report` with a progress line every `interval` seconds
/// (files done, compressed bytes read, bytes/s) and once per finished object.
public func countRecordsInParallel(store: ObjectStore, objects: [ObjectInfo], jobs: Int, interval: Double = 2,
                                   report: @escaping @Sendable (String) -> Void) -> [String: Result<RecordCount, Error>] {
    let counter = ParallelRecordCounter()
    let started = Date()
    let done = DispatchSemaphore(value: 0)
    let ticker = Thread {
        while done.wait(timeout: .now() + interval) == .timedOut {
            report(progressLine(counter.snapshot, seconds: Date().timeIntervalSince(started)))
        }
    }
    ticker.start()
    let resultsLock = NSLock()
    nonisolated(unsafe) var results: [String: Result<RecordCount, Error>] = [:]
    counter.run(store: store, objects: objects, jobs: jobs) { info, result in
        resultsLock.lock(); results[info.key] = result; resultsLock.unlock()
        switch result {
        case .success(let c):
            report("counted \(info.key): \(c.records) records, \(c.lines) lines (\(c.format))"
                   + (c.malformedLines > 0 ? ", \(c.malformedLines) malformed" : ""))
        case .failure:
            break   // reported once, in the run's summary
        }
    }
    done.signal()
    report(progressLine(counter.snapshot, seconds: Date().timeIntervalSince(started)))
    return results
}

func progressLine(_ p: ParallelRecordCounter.Progress, seconds: Double) -> String {
    let rate = seconds > 0 ? Double(p.compressedBytes) / seconds : 0
    return "progress: \(p.filesDone)/\(p.filesTotal) files, \(formatBytes(p.compressedBytes)) of "
        + "\(formatBytes(p.compressedTotal)) compressed, \(formatBytes(Int64(rate)))/s, "
        + String(format: "%.1f s", seconds)
}
