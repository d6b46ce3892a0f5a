import Foundation
import LodestoneBase
import LodestoneStorage
import Logging

/// Progress of an ingest run, printed through `ProgressPrinter`: on a terminal one self-overwriting line
/// (totals, then each running transfer's share), refreshed twice a second; otherwise plain log lines when
/// transfers start and end, and the totals line every 30 seconds.
public final class IngestProgress: @unchecked Sendable {
    struct Active { var name: String; var bytes: Int64; var total: Int64?; var start: Date }
    let logger: Logger
    let interactive: Bool
    private let lock = NSLock()
    private let printer = ProgressPrinter(interval: 30)
    private var active: [String: Active] = [:]
    private var doneObjects = 0, totalObjects = 0
    private var doneBytes: Int64 = 0, plannedBytes: Int64 = 0
    private var started = Date()
    private var running = false

    public init(logger: Logger, interactive: Bool = isatty(STDERR_FILENO) == 1) {
        self.logger = logger; self.interactive = interactive
    }

    func begin(total: Int, bytes: Int64) {
        lock.lock()
        totalObjects = total; plannedBytes = bytes; started = Date(); running = true
        lock.unlock()
        Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.5)
                lock.lock(); let go = running; lock.unlock()
                guard go else { break }
                printLine()
            }
        }.start()
    }

    func end() {
        lock.lock(); running = false; lock.unlock()
        if interactive { printLine(force: true) }
        printer.finishLine()
    }

    func started(_ t: PlannedTransfer) {
        lock.lock(); active[t.key] = Active(name: t.name, bytes: 0, total: t.size, start: Date()); lock.unlock()
        if !interactive { logger.info("start \(t.name) ← \(t.source)\(t.size.map { " (\(formatBytes($0)))" } ?? "")") }
    }

    func advanced(_ t: PlannedTransfer, to bytes: Int64) {
        lock.lock(); active[t.key]?.bytes = bytes; lock.unlock()
    }

    func finished(_ t: PlannedTransfer, outcome: TransferOutcome) {
        lock.lock()
        let a = active.removeValue(forKey: t.key)
        doneObjects += 1
        if case .stored(let b) = outcome { doneBytes += b }
        lock.unlock()
        let secs = a.map { Date().timeIntervalSince($0.start) } ?? 0
        switch outcome {
        case .stored(let b):
            if !interactive { logger.info("done  \(t.name) → \(t.key): \(formatBytes(b)) in \(String(format: "%.1f", secs)) s (\(formatRate(Double(b) / max(secs, 1e-3))))") }
        case .alreadyPresent(let b):
            if !interactive { logger.info("skip  \(t.name): already in the store (\(formatBytes(b)))") }
        case .failed(let reason):
            printer.finishLine()
            logger.error("FAILED \(t.name): \(reason)")
        }
    }

    private func printLine(force: Bool = false) {
        let line = interactive ? totalsLine() + activeShares() : totalsLine()
        printer.update(line: line, force: force)
    }

    private func totalsLine() -> String {
        lock.lock(); defer { lock.unlock() }
        let live = active.values.reduce(Int64(0)) { $0 + $1.bytes }
        let bytes = doneBytes + live
        let secs = max(Date().timeIntervalSince(started), 1e-3)
        let rate = Double(bytes) / secs
        var line = "total: \(doneObjects)/\(totalObjects) objects, \(formatBytes(bytes))"
        if plannedBytes > 0 { line += " of ≥\(formatBytes(plannedBytes))" }
        line += ", \(formatRate(rate))"
        if plannedBytes > bytes && rate > 0 { line += ", ETA ≥\(formatDuration(Double(plannedBytes - bytes) / rate))" }
        return line
    }

    /// ` | name 42%, other 3.1 MB`: the running transfers, oldest first, kept short for one terminal line.
    private func activeShares() -> String {
        lock.lock(); defer { lock.unlock() }
        let shares = active.values.sorted { $0.start < $1.start }.map { a -> String in
            if let t = a.total, t > 0 { return "\(a.name.prefix(24)) \(Int(Double(a.bytes) * 100 / Double(t)))%" }
            return "\(a.name.prefix(24)) \(formatBytes(a.bytes))"
        }
        return shares.isEmpty ? "" : " | " + shares.joined(separator: ", ")
    }
}
