import Foundation
import LodestoneStorage

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
