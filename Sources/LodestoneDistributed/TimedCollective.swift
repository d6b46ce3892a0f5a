// Where a data-parallel step's time goes: a Collective that forwards every call to another and adds up the
// seconds and bytes of each kind. Time inside a collective includes waiting for the slowest rank to get there,
// so `seconds` is communication plus imbalance, as a step sees it (lodestone-bench under mpirun prints it).
import Foundation
import LodestoneBase

public final class TimedCollective: Collective {
    public let wrapped: Collective
    /// Per operation ("allReduceSum", "allGather", "broadcast", "barrier"): calls, seconds, bytes this rank sent.
    public private(set) var totals: [String: (calls: Int, seconds: Double, bytes: Int)] = [:]

    public init(_ wrapped: Collective) { self.wrapped = wrapped }

    public var rank: Int { wrapped.rank }
    public var size: Int { wrapped.size }

    /// Seconds in every collective together.
    public var seconds: Double { totals.values.reduce(0) { $0 + $1.seconds } }

    public func reset() { totals = [:] }

    /// `calls` 0: more time of a call already counted (a pending all-reduce's tests and wait).
    fileprivate func timed<T>(_ name: String, calls: Int = 1, bytes: Int, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let t = totals[name] ?? (0, 0, 0)
            totals[name] = (t.calls + calls, t.seconds + seconds, t.bytes + bytes)
        }
        return try body()
    }

    public func allReduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {
        try timed("allReduceSum", bytes: 4 * count) { try wrapped.allReduceSum(values, count: count) }
    }

    public func allGather(_ send: UnsafePointer<Float>, into receive: UnsafeMutablePointer<Float>, counts: [Int]) throws {
        try timed("allGather", bytes: 4 * (counts.indices.contains(rank) ? counts[rank] : 0)) {
            try wrapped.allGather(send, into: receive, counts: counts)
        }
    }

    public func broadcast(_ bytes: UnsafeMutableRawPointer, count: Int, root: Int) throws {
        try timed("broadcast", bytes: count) { try wrapped.broadcast(bytes, count: count, root: root) }
    }

    public func barrier() throws { try timed("barrier", bytes: 0) { try wrapped.barrier() } }

    public func abort(code: Int32) -> Never { wrapped.abort(code: code) }
}

extension TimedCollective {
    /// The non-blocking all-reduce counts what the step spends inside it: starting it, testing it and waiting
    /// for it (the part that backward did not hide), under "allReduceSum".
    public func startAllReduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws -> any PendingAllReduce {
        let pending = try timed("allReduceSum", bytes: 4 * count) { try wrapped.startAllReduceSum(values, count: count) }
        return TimedPending(pending, owner: self)
    }

    private final class TimedPending: PendingAllReduce {
        let pending: any PendingAllReduce
        let owner: TimedCollective
        init(_ pending: any PendingAllReduce, owner: TimedCollective) { self.pending = pending; self.owner = owner }
        func test() throws -> Bool { try owner.timed("allReduceSum", calls: 0, bytes: 0) { try pending.test() } }
        func wait() throws { try owner.timed("allReduceSum", calls: 0, bytes: 0) { try pending.wait() } }
    }
}
