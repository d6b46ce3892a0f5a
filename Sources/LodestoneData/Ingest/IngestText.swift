import Foundation
import LodestoneBase
import LodestoneStorage

public enum IngestText {
    /// `--dry-run` output: one line per transfer (name, source, destination, size if known), then skips.
    public static func planLines(_ plan: IngestPlan, store: ObjectStore) -> [String] {
        var lines = plan.transfers.map { t in
            "\(t.name)\t\(t.source)\t→ \(store.description.hasSuffix("/") ? store.description : store.description + "/")\(t.key)\t\(t.size.map(formatBytes) ?? "size unknown")"
        }
        for s in plan.skipped { lines.append("\(s.name)\tskipped: \(s.reason)") }
        for f in plan.failures { lines.append("\(f.name)\tFAILED while planning: \(f.reason)") }
        let known = plan.transfers.compactMap(\.size)
        lines.append("plan: \(plan.transfers.count) transfers (\(known.count) of known size, \(formatBytes(known.reduce(0, +)))), \(plan.skipped.count) skipped, \(plan.failures.count) failed")
        return lines
    }

    /// The closing summary in the original's spirit: what this run did, then what the store holds.
    public static func summaryLines(_ report: IngestReport, store: ObjectStore) -> [String] {
        var stored = 0, present = 0
        for (_, o) in report.outcomes {
            switch o {
            case .stored: stored += 1
            case .alreadyPresent: present += 1
            case .failed: break
            }
        }
        var lines = ["run: \(stored) stored (\(formatBytes(report.storedBytes)) in \(String(format: "%.1f", report.seconds)) s), \(present) already present, \(report.skipped.count) skipped, \(report.failures.count) failed"]
        for s in report.skipped { lines.append("  skipped \(s.name): \(s.reason)") }
        if let all = try? store.list(prefix: "data/") {
            let objects = all.filter { $0.key.hasSuffix(".json.gz") }
            lines.append("\(objects.count) objects, \(formatBytes(objects.reduce(0) { $0 + $1.size })) in the store (\(store.description))")
        }
        if !report.failures.isEmpty {
            lines.append("failures:")
            for f in report.failures { lines.append("  \(f.name): \(f.reason)") }
        }
        return lines
    }
}
