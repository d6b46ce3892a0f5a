import Foundation
import LodestoneBase
import LodestoneStorage

/// Counts many objects on `jobs` threads (`forEachInParallel`), largest first so that the longest file starts
/// early. Each worker holds one reader (a 1 MiB window and a 256 KiB input buffer): memory is bounded by `jobs`.
public final class ParallelRecordCounter: @unchecked Sendable {
    public struct Progress: Sendable {
        public var filesDone = 0, filesTotal = 0
        public var compressedBytes: Int64 = 0, compressedTotal: Int64 = 0
    }

    private let lock = NSLock()
    private var progress = Progress()

    public init() {}

    /// The progress so far (thread-safe).
    public var snapshot: Progress { lock.lock(); defer { lock.unlock() }; return progress }

    /// Counts `objects`; `onFinish` is called (serialized) as each object completes or fails.
    public func run(store: ObjectStore, objects: [ObjectInfo], jobs: Int,
                    onFinish: @escaping (ObjectInfo, Result<RecordCount, Error>) -> Void) {
        let queue = objects.sorted { $0.size > $1.size }
        lock.lock()
        progress = Progress(filesTotal: queue.count, compressedTotal: queue.reduce(0) { $0 + $1.size })
        lock.unlock()
        nonisolated(unsafe) let onFinish = onFinish
        forEachInParallel(count: queue.count, jobs: jobs) { [self] i in
            let object = queue[i]
            let result = Result {
                try countRecords(store: store, key: object.key) { n in
                    self.lock.lock(); self.progress.compressedBytes += Int64(n); self.lock.unlock()
                }
            }
            lock.lock()
            progress.filesDone += 1
            onFinish(object, result)
            lock.unlock()
        }
    }
}
