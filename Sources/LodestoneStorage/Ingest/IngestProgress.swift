import Foundation
import LodestoneBase
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Progress of an ingest run. On a terminal: a block redrawn twice a second with one line per running
/// transfer (bytes, rate, ETA) and a totals line. Otherwise: plain log lines when transfers start and end,
/// and a totals line every 30 seconds.
public final class IngestProgress: @unchecked Sendable {
    struct Active { var name: String; var bytes: Int64; var total: Int64?; var start: Date }
    let logger: Logger
    let interactive: Bool
    private let lock = NSLock()
    private var active: [String: Active] = [:]
    private var doneObjects = 0, totalObjects = 0
    private var doneBytes: Int64 = 0, plannedBytes: Int64 = 0
    private var started = Date()
    private var drawnLines = 0
    private var ticker: Thread?
    private var running = false

    public init(logger: Logger, interactive: Bool = isatty(STDERR_FILENO) == 1) {
        self.logger = logger; self.interactive = interactive
    }

    func begin(total: Int, bytes: Int64) {
        lock.lock()
        totalObjects = total; plannedBytes = bytes; started = Date(); running = true
        lock.unlock()
        let t = Thread { [self] in
            var lastLog = Date()
            while true {
                Thread.sleep(forTimeInterval: 0.5)
                lock.lock(); let go = running; lock.unlock()
                guard go else { break }
                if interactive { draw() } else if Date().timeIntervalSince(lastLog) >= 30 { lastLog = Date(); logger.info("\(totalsLine())") }
            }
        }
        ticker = t
        t.start()
    }

    func end() {
        lock.lock(); running = false; lock.unlock()
        if interactive { draw(final: true) }
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
            logger.error("FAILED \(t.name): \(reason)")
        }
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

    private func draw(final: Bool = false) {
        lock.lock()
        var lines: [String] = []
        for a in active.values.sorted(by: { $0.start < $1.start }) {
            let secs = max(Date().timeIntervalSince(a.start), 1e-3)
            let rate = Double(a.bytes) / secs
            var l = "  \(a.name.prefix(48)): \(formatBytes(a.bytes))"
            if let t = a.total, t > 0 {
                l += " / \(formatBytes(t)) (\(Int(Double(a.bytes) * 100 / Double(t)))%)"
                if rate > 0 { l += ", ETA \(formatDuration(Double(t - a.bytes) / rate))" }
            }
            l += ", \(formatRate(rate))"
            lines.append(l)
        }
        lock.unlock()
        lines.append(totalsLine())
        var out = ""
        if drawnLines > 0 { out += "\u{1B}[\(drawnLines)A" }
        for l in lines { out += "\u{1B}[2K" + l + "\n" }
        for _ in lines.count..<max(lines.count, drawnLines) { out += "\u{1B}[2K\n" }
        drawnLines = max(lines.count, drawnLines)
        if final { drawnLines = 0 }
        FileHandle.standardError.write(Data(out.utf8))
    }
}
