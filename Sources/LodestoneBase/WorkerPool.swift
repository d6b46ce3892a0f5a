import Foundation

/// Runs `work(index)` for every index in `0..<count` on `jobs` threads that each take the next free index,
/// and returns when all are done. Threads (not GCD) so that blocking I/O in `work` never starves the pool.
/// `work` must be thread-safe; results go wherever it puts them.
public func forEachInParallel(count: Int, jobs: Int, stackSize: Int = 1 << 20, _ work: @escaping @Sendable (Int) -> Void) {
    guard count > 0 else { return }
    let workers = max(1, min(jobs, count))
    let next = IndexCounter()
    let group = DispatchGroup()
    for _ in 0..<workers {
        group.enter()
        let thread = Thread {
            while let i = next.take(below: count) { work(i) }
            group.leave()
        }
        thread.stackSize = stackSize
        thread.start()
    }
    group.wait()
}

/// Hands out 0, 1, 2, … to whichever thread asks next: a work queue of indices.
public final class IndexCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    public init() {}
    public func take(below limit: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}
