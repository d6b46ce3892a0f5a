// A rank that stalls (a hung read, a stopped process, a lost link) leaves every other rank waiting inside a
// collective forever; MPI itself never times out. The watchdog bounds that wait: a collective that has not
// returned after `limit` seconds ends this process with one line and status 124, and mpirun then ends the job.
// It never calls MPI (only the MPI thread may), it only exits.
import Foundation

final class StallWatchdog: @unchecked Sendable {
    let limit: Double
    private let who: String
    private let lock = NSLock()
    private var waitingSince: UInt64?
    private var call = ""
    private let timer: DispatchSourceTimer

    init(limit: Double, rank: Int, size: Int) {
        self.limit = limit
        who = "rank \(rank) of \(size)"
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        let period = max(0.05, min(limit / 4, 1))
        timer.schedule(deadline: .now() + period, repeating: period)
        timer.setEventHandler { [weak self] in self?.check() }
        timer.resume()
    }

    deinit { timer.cancel() }

    /// Runs one blocking MPI call under the watch.
    func watch<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        lock.lock(); call = name; waitingSince = DispatchTime.now().uptimeNanoseconds; lock.unlock()
        defer { lock.lock(); waitingSince = nil; lock.unlock() }
        return try body()
    }

    private func check() {
        lock.lock()
        let since = waitingSince, name = call
        lock.unlock()
        guard let since else { return }
        let waited = Double(DispatchTime.now().uptimeNanoseconds - since) / 1e9
        guard waited > limit else { return }
        let line = String(format: "lodestone: error: %@: %@ waited %.0f s for the other ranks (stall limit %g s); ending the job\n",
                          who, name, waited, limit)
        FileHandle.standardError.write(Data(line.utf8))
        _exit(124)
    }
}
