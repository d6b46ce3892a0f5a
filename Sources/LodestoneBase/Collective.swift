import Foundation

// The collective operations data-parallel training needs, as MPI names them. A plain run is one rank
// (`SingleProcess`); `mpirun` gives every rank an MPI-backed one (LodestoneDistributed). The trainer calls these
// at the same points on every rank, so each is a rendezvous.

/// Collective operations over the ranks of one job.
public protocol Collective: AnyObject {
    /// This process's rank, 0 ..< size.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }
    /// values[i] = Σ over ranks of values[i], in place, identical bits on every rank.
    func allReduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws
    /// Starts `allReduceSum` of `values` and returns at once; the buffer must stay alive and untouched until the
    /// reduction completes. Every rank starts the same reductions in the same order. By default it is blocking.
    func startAllReduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws -> any PendingAllReduce
    /// Rank r contributes `counts[r]` floats from `send`; `receive` gets every rank's, in rank order.
    func allGather(_ send: UnsafePointer<Float>, into receive: UnsafeMutablePointer<Float>, counts: [Int]) throws
    /// Copies `count` bytes from `root`'s buffer into every other rank's.
    func broadcast(_ bytes: UnsafeMutableRawPointer, count: Int, root: Int) throws
    /// Returns on every rank once all have called it.
    func barrier() throws
    /// Ends the whole job with `code` (every rank's process).
    func abort(code: Int32) -> Never
}

extension Collective {
    public func startAllReduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws -> any PendingAllReduce {
        try allReduceSum(values, count: count)
        return CompletedAllReduce()
    }

    public var isSingleProcess: Bool { size == 1 }
    /// Rank 0 writes logs, checkpoints and the model; the others only compute.
    public var isRoot: Bool { rank == 0 }
}

/// One process, no communication: every operation is the identity.
public final class SingleProcess: Collective {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allReduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) {}
    public func allGather(_ send: UnsafePointer<Float>, into receive: UnsafeMutablePointer<Float>, counts: [Int]) {
        if UnsafePointer(receive) != send { receive.update(from: send, count: counts[0]) }
    }
    public func broadcast(_ bytes: UnsafeMutableRawPointer, count: Int, root: Int) {}
    public func barrier() {}
    public func abort(code: Int32) -> Never { exit(code) }
}
