// A sum all-reduce in flight (`Collective.startAllReduceSum`): a gradient bucket travels while backward computes
// the next. Transports without a progress thread move data only inside their calls, so `test()` between pieces
// of work is what advances it.

/// An all-reduce started and not yet known to be complete.
public protocol PendingAllReduce: AnyObject {
    /// Whether the sums are complete (then the buffer holds them); lets the transport progress.
    func test() throws -> Bool
    /// Blocks until the buffer holds the sums over every rank.
    func wait() throws
}

/// The pending all-reduce of a collective whose start already did all the work.
public final class CompletedAllReduce: PendingAllReduce {
    public init() {}
    public func test() -> Bool { true }
    public func wait() {}
}
