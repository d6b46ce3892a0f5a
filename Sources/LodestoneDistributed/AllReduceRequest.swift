// A sum all-reduce in flight (MPI_Iallreduce), so a gradient bucket can travel while backward computes the next.
// Open MPI moves the data only inside MPI calls on the MPI thread (this build has no asynchronous progress
// thread): call `test()` between pieces of work to let it advance, and `wait()` before reading the sums.
import CMPI
import Foundation
import LodestoneBase

public final class AllReduceRequest: PendingAllReduce {
    private var requests: [MPI_Request?]
    private let owner: MPICollective?

    init(requests: [MPI_Request?], owner: MPICollective?) {
        self.requests = requests; self.owner = owner
    }

    /// Whether the sums are complete; drives MPI's progress. Once true, the buffer holds the sums.
    public func test() throws -> Bool {
        guard let owner else { return true }
        var done: Int32 = 0
        try owner.check("MPI_Testall", MPI_Testall(Int32(requests.count), &requests, &done, lodestone_mpi_statuses_ignore()))
        return done != 0
    }

    /// Blocks until the buffer holds the sums over every rank.
    public func wait() throws {
        guard let owner, !requests.isEmpty else { return }
        try owner.blocking("MPI_Waitall") { MPI_Waitall(Int32(requests.count), &requests, lodestone_mpi_statuses_ignore()) }
    }
}

extension MPICollective {
    /// Starts `values[i] = Σ over ranks of values[i]` in place; the buffer must stay alive and untouched until
    /// `wait()` returns (or `test()` says true). Every rank starts the same reductions in the same order.
    public func startAllReduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws -> any PendingAllReduce {
        var requests: [MPI_Request?] = []
        var offset = 0
        while offset < count {
            let n = min(count - offset, Self.maxCount)
            var request: MPI_Request? = lodestone_mpi_request_null()
            try check("MPI_Iallreduce", MPI_Iallreduce(lodestone_mpi_in_place(), values + offset, Int32(n),
                                                       lodestone_mpi_float(), lodestone_mpi_sum(), lodestone_mpi_comm_world(), &request))
            requests.append(request)
            offset += n
        }
        return AllReduceRequest(requests: requests, owner: self)
    }
}
