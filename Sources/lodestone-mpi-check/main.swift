// lodestone-mpi-check: the MPI layer (LodestoneDistributed) run as mpirun runs it.
//   collectives          every Collective operation on known inputs, each rank's results written to a JSON file
//                        that DistributedTests compares with sums it computes itself; optional deliberate failure
//   allreduce-bandwidth  GB/s of the sum all-reduce of one model's gradient (Scripts/bench-scale.sh)
//   overlap              one training step, gradients summed blocking and overlapped with backward, written for
//                        DistributedTests to compare with each other and with one process
// Without mpirun both run as one process that never initialises MPI.
import ArgumentParser
import Foundation
import LodestoneBase
import LodestoneDistributed

struct MPICheck: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lodestone-mpi-check",
        abstract: "Check and measure the MPI collectives (run under mpirun -np N).",
        subcommands: [CollectivesCheck.self, AllReduceBandwidth.self, OverlapCheck.self])
}

/// The error boundary of one rank: a failure prints one line and ends the whole job (MPI_Abort) with `status`;
/// success ends with MPI_Finalize.
func runRank(_ name: String, status: Int32 = 1, _ body: (Collective) throws -> Void) {
    let collective: Collective
    do { collective = try makeCollective() } catch {
        FileHandle.standardError.write(Data("\(name): error: \(describe(error))\n".utf8))
        exit(1)
    }
    do {
        try body(collective)
        try finishCollective(collective)
    } catch {
        FileHandle.standardError.write(Data("\(name): error: rank \(collective.rank): \(describe(error))\n".utf8))
        collective.abort(code: status)
    }
}

MPICheck.main()
