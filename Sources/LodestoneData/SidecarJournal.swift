import Foundation
import LodestoneBase
import LodestoneStorage

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
