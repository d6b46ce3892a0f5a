import Foundation
import LodestoneBase
import LodestoneStorage

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
    if !objects.isEmpty { progress(progressLine(counter.snapshot, seconds: Date().timeIntervalSince(started))) }
    return results
}

/// `counted data/x.json.gz: 12 records, 12 lines (texts)`: the line 02 prints as an object finishes.
public func countedLine(_ c: RecordCount) -> String {
    "counted \(c.key): \(c.records) records, \(c.lines) lines (\(c.format))"
        + (c.malformedLines > 0 ? ", \(c.malformedLines) malformed" : "")
}

func progressLine(_ p: ParallelRecordCounter.Progress, seconds: Double) -> String {
    let rate = seconds > 0 ? Double(p.compressedBytes) / seconds : 0
    return "progress: \(p.filesDone)/\(p.filesTotal) files, \(formatBytes(p.compressedBytes)) of "
        + "\(formatBytes(p.compressedTotal)) compressed, \(formatBytes(Int64(rate)))/s, "
        + String(format: "%.1f s", seconds)
}
