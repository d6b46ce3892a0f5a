import LodestoneDistributed
import XCTest

/// Which Collective a process gets is decided by its environment alone (no MPI call).
final class LaunchDetectionTests: XCTestCase {
    func testPlainEnvironmentIsNotAnMPILaunch() {
        XCTAssertFalse(MPICollective.launchedByMPI(environment: [:]))
        XCTAssertFalse(MPICollective.launchedByMPI(environment: ["PATH": "/usr/bin", "OMPI_MCA_btl": "self,vader"]))
    }

    func testEachLauncherVariableMarksAnMPILaunch() {
        XCTAssertTrue(MPICollective.launchedByMPI(environment: ["OMPI_COMM_WORLD_SIZE": "2"]))  // Open MPI's mpirun
        XCTAssertTrue(MPICollective.launchedByMPI(environment: ["PMIX_RANK": "0"]))             // srun --mpi=pmix
        XCTAssertTrue(MPICollective.launchedByMPI(environment: ["PMI_RANK": "1"]))              // PMI-1/2 launchers
    }
}
