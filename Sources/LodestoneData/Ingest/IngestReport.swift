import Foundation
import LodestoneStorage

public enum TransferOutcome: Sendable, Equatable {
    case stored(bytes: Int64)
    case alreadyPresent(bytes: Int64)
    case failed(String)
}

public struct IngestReport: Sendable {
    public var outcomes: [(transfer: PlannedTransfer, outcome: TransferOutcome)] = []
    public var skipped: [(name: String, reason: String)] = []
    public var failures: [(name: String, reason: String)] = []
    public var seconds: Double = 0
    /// The error that stopped the whole run (an unreachable store, a full disk): later transfers were not tried.
    public var fatal: Error?

    public var storedBytes: Int64 {
        outcomes.reduce(0) { if case .stored(let b) = $1.outcome { return $0 + b } else { return $0 } }
    }
}
