// Which Collective this process gets. A plain run never touches MPI: MPI_Init (and the daemon it would look
// for) only happens when a launcher started this process as one of its ranks. A step uses it as
//     let collective = try makeCollective()          // on the main thread, which alone calls MPI
//     do { try work(collective); try finishCollective(collective) }
//     catch { print one line; collective.abort(code: 1) }   // or just exit non-zero: mpirun ends the job
import Foundation
import LodestoneBase

extension MPICollective {
    /// Environment variables a launcher sets in every rank it starts: Open MPI's mpirun (OMPI_COMM_WORLD_SIZE),
    /// PMIx launchers such as Slurm's srun --mpi=pmix (PMIX_RANK), PMI-1/2 launchers (PMI_RANK).
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]

    /// Whether `environment` is that of a process started as an MPI rank.
    public static func launchedByMPI(environment: [String: String]) -> Bool {
        launcherVariables.contains { environment[$0] != nil }
    }

    /// This process's rank as its launcher announced it (Open MPI, PMIx, PMI), read before MPI_Init; 0 for a
    /// plain run. For what must happen once per job before MPI starts, such as printing a usage error.
    public static func launchRank(environment: [String: String]) -> Int {
        ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"].lazy.compactMap { environment[$0].flatMap { Int($0) } }.first ?? 0
    }

    public static var launchRank: Int { launchRank(environment: ProcessInfo.processInfo.environment) }

    /// Whether this process was started as an MPI rank (mpirun, srun, ...).
    public static var launchedByMPI: Bool { launchedByMPI(environment: ProcessInfo.processInfo.environment) }
}

/// The Collective for this process: MPI_COMM_WORLD under a launcher, otherwise a single process that needs no
/// MPI at all. Under a launcher, end every successful run with `finishCollective`.
public func makeCollective() throws -> Collective {
    MPICollective.launchedByMPI ? try MPICollective.world() : SingleProcess()
}

/// The normal end of a rank's run: MPI_Finalize under MPI (every rank calls it), nothing for a single process.
/// A rank that exits without it (after an error) makes mpirun end the whole job with a non-zero status.
public func finishCollective(_ collective: Collective) throws {
    if let mpi = collective as? MPICollective { try mpi.finalize() }
}
