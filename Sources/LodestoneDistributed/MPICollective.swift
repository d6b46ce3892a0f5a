// The Collective of a rank launched by mpirun: Open MPI's MPI_COMM_WORLD. Only the thread that initialised MPI
// (the main thread, by the trainer's design) calls MPI; the compute threads (concurrentPerform, OpenBLAS) never
// do, which is exactly MPI_THREAD_FUNNELED.
import CMPI
import Foundation
import LodestoneBase

public final class MPICollective: Collective {
    public let rank: Int
    public let size: Int

    private static let lock = NSLock()
    nonisolated(unsafe) private static var initialised: MPICollective?
    /// Set once MPI_Finalize or MPI_Abort has run: MPI allows neither twice.
    nonisolated(unsafe) static var ended = false

    /// MPI's largest count per call (a C int); longer buffers go in pieces of this many elements.
    static let maxCount = Int(Int32.max)

    /// MPI_COMM_WORLD of this process, initialised on the first call (MPI_Init_thread, FUNNELED). Errors on the
    /// world communicator are returned, not fatal, so they reach Swift as `MPIError`. A rank that exits without
    /// `finalize()` (non-zero after an error, or even zero) makes mpirun end the whole job with a non-zero status,
    /// so no other rank is left waiting in a collective; `abort(code:)` does the same at once from inside a rank.
    public static func world() throws -> MPICollective {
        lock.lock(); defer { lock.unlock() }
        if let initialised { return initialised }
        var provided: Int32 = 0
        let initCode = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
        guard initCode == MPI_SUCCESS else { throw MPIError(call: "MPI_Init_thread", code: initCode, rank: nil, size: nil) }
        let world = lodestone_mpi_comm_world()
        try check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(world, lodestone_mpi_errors_return()), rank: nil, size: nil)
        var rank: Int32 = 0, size: Int32 = 0
        try check("MPI_Comm_rank", MPI_Comm_rank(world, &rank), rank: nil, size: nil)
        try check("MPI_Comm_size", MPI_Comm_size(world, &size), rank: Int(rank), size: nil)
        guard provided >= Int32(MPI_THREAD_FUNNELED) else {
            throw MPIError(call: "MPI_Init_thread", reason: "this MPI library gives thread level \(provided), below MPI_THREAD_FUNNELED",
                           rank: Int(rank), size: Int(size))
        }
        let collective = MPICollective(rank: Int(rank), size: Int(size))
        initialised = collective
        return collective
    }

    private init(rank: Int, size: Int) {
        self.rank = rank; self.size = size
    }

    /// Seconds a blocking collective (or an all-reduce's `wait()`) may wait for the other ranks before this
    /// rank gives up and exits with status 124, which ends the job; nil (the default) waits forever. Set it
    /// well above the slowest rank's compute between two collectives. Zero or less also means forever.
    public var stallTimeout: Double? {
        get { watchdog?.limit }
        set { watchdog = newValue.flatMap { $0 > 0 ? StallWatchdog(limit: $0, rank: rank, size: size) : nil } }
    }
    private var watchdog: StallWatchdog?

    /// Runs one blocking MPI call under the stall watchdog (when set) and turns its return code into an MPIError.
    func blocking(_ call: String, _ body: () -> Int32) throws {
        let code = watchdog.map { $0.watch(call, body) } ?? body()
        try check(call, code)
    }

    private var world: MPI_Comm { lodestone_mpi_comm_world() }

    static func check(_ call: String, _ code: Int32, rank: Int?, size: Int?) throws {
        if code != MPI_SUCCESS { throw MPIError(call: call, code: code, rank: rank, size: size) }
    }

    func check(_ call: String, _ code: Int32) throws {
        try Self.check(call, code, rank: rank, size: size)
    }

    func failure(_ call: String, _ reason: String) -> MPIError {
        MPIError(call: call, reason: reason, rank: rank, size: size)
    }

    // MARK: Collective

    public func allReduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {
        // In place (MPI_IN_PLACE). Open MPI's algorithms (ring, recursive doubling) hand every rank the same
        // rounded sum; with 2 ranks that is a + b = b + a exactly.
        var offset = 0
        while offset < count {
            let n = min(count - offset, Self.maxCount)
            try blocking("MPI_Allreduce") {
                MPI_Allreduce(lodestone_mpi_in_place(), values + offset, Int32(n), lodestone_mpi_float(), lodestone_mpi_sum(), world)
            }
            offset += n
        }
    }

    public func allGather(_ send: UnsafePointer<Float>, into receive: UnsafeMutablePointer<Float>, counts: [Int]) throws {
        guard counts.count == size else {
            throw failure("MPI_Allgatherv", "\(counts.count) counts given for \(size) ranks")
        }
        guard counts.allSatisfy({ $0 >= 0 }), counts.reduce(0, +) <= Self.maxCount else {
            throw failure("MPI_Allgatherv", "counts \(counts) are negative or sum past \(Self.maxCount) floats")
        }
        let counts32 = counts.map { Int32($0) }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { displacements[r] = displacements[r - 1] + counts32[r - 1] }
        try blocking("MPI_Allgatherv") {
            MPI_Allgatherv(send, counts32[rank], lodestone_mpi_float(), receive, counts32, displacements, lodestone_mpi_float(), world)
        }
    }

    public func broadcast(_ bytes: UnsafeMutableRawPointer, count: Int, root: Int) throws {
        // The root is checked by MPI itself (MPI_ERR_ROOT), not here: one place words it.
        var offset = 0
        repeat {
            let n = min(count - offset, Self.maxCount)
            try blocking("MPI_Bcast") { MPI_Bcast(bytes + offset, Int32(n), lodestone_mpi_byte(), Int32(clamping: root), world) }
            offset += n
        } while offset < count
    }

    public func barrier() throws {
        try blocking("MPI_Barrier") { MPI_Barrier(world) }
    }

    /// MPI_Abort on MPI_COMM_WORLD: Open MPI's launcher ends every rank and mpirun exits non-zero.
    public func abort(code: Int32) -> Never {
        Self.abortJob(code: code)
    }

    /// MPI_Finalize: the normal end of a rank, after its last collective. Every rank must call it.
    public func finalize() throws {
        Self.lock.lock(); defer { Self.lock.unlock() }
        guard !Self.ended else { return }
        Self.ended = true
        try blocking("MPI_Finalize") { MPI_Finalize() }
    }

    static func abortJob(code: Int32) -> Never {
        ended = true
        _ = MPI_Abort(lodestone_mpi_comm_world(), code == 0 ? 1 : code)
        _exit(code == 0 ? 1 : code)  // MPI_Abort does not return; this keeps the promise if it ever did
    }
}
