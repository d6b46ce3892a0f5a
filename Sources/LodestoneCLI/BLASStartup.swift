// The steps' first act (the first statement of each main.swift): choose the OpenBLAS kernel, check it once, and
// name it in the step's first line (runStep). The decision itself is BLASKernelChoice.decide (LodestoneTensor);
// this file gathers its inputs and carries it out. OpenBLAS reads OPENBLAS_CORETYPE only when it loads, and the
// steps link it, so another kernel means re-executing this program with the variable set — before anything
// else runs, MPI_Init included, so that it works under mpirun too.
import Foundation
import LodestoneBase
import LodestoneStorage
import LodestoneTensor
#if canImport(Glibc)
import Glibc
#endif

public enum BLASStartup {
    /// Test hooks, read only here: the CPU's flags (instead of /proc/cpuinfo); the kernel OpenBLAS is taken to have
    /// picked by itself (only while OPENBLAS_CORETYPE is unset, so a re-executed process sees the real one); kernels
    /// whose self-check is made to fail (comma-separated names).
    public static let fakeFlagsVariable = "LODESTONE_TEST_CPU_FLAGS"
    public static let fakeCoreVariable = "LODESTONE_TEST_BLAS_CORENAME"
    public static let failingCheckVariable = "LODESTONE_TEST_BLAS_CHECK_FAILS"

    /// The reason shown in the line, once `choose` has run; nil before (then runStep names no kernel).
    nonisolated(unsafe) static var reason: String?
    nonisolated(unsafe) static var announced = false

    /// Decides, and either returns (the kernel stays), re-executes the program (never returns), or ends it with
    /// one line and status 1 (no kernel passed the self-check). Call it before anything else.
    public static func choose(step: String) {
        let env = ProcessInfo.processInfo.environment
        let coreType = env["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
        let core = coreType == nil ? (env[fakeCoreVariable] ?? openBLASCoreName()) : openBLASCoreName()
        let cpu = env[fakeFlagsVariable].map { CPUFeatures(flagList: $0) }
            ?? CPUFeatures(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
        let failing = (env[failingCheckVariable] ?? "").split(separator: ",").map { $0.lowercased() }
        let passed = !failing.contains(core.lowercased()) && sgemmSelfCheck().passed
        let input = BLASKernelInputs(cpu: cpu, coreName: core, coreType: coreType,
                                     marker: env[BLASKernelChoice.markerVariable], selfCheckPassed: passed)
        switch BLASKernelChoice.decide(input) {
        case .keep(let why):
            reason = why
        case .reexec(let kernel, let marker):
            reason = "OpenBLAS's own choice; could not restart on \(kernel): " + restart(kernel: kernel, marker: marker)
        case .stop(let message):
            printError(step, message)
            exit(1)
        }
    }

    /// Starts this program again, same arguments, with the kernel set; returns only on failure, saying why.
    static func restart(kernel: String, marker: String) -> String {
        #if os(Linux)
        setenv("OPENBLAS_CORETYPE", kernel, 1)
        setenv(BLASKernelChoice.markerVariable, marker, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        let why = String(cString: strerror(errno))
        unsetenv("OPENBLAS_CORETYPE")   // children must not take it for the user's choice
        unsetenv(BLASKernelChoice.markerVariable)
        return why
        #else
        return "re-executing is implemented for Linux only"
        #endif
    }

    /// The line naming the kernel, with `threads` OpenBLAS threads set first when given: once per process, on
    /// stderr as `<step>: OpenBLAS 0.3.21, kernel Haswell (…), 2 threads`. Nothing before `choose` has run; under
    /// mpirun rank 0 speaks for the job, as in 04's log (Open MPI names the rank before MPI_Init).
    public static func announce(_ step: String, threads: Int? = nil) {
        if let threads { setBLASThreads(threads) }
        guard let reason, !announced else { return }
        announced = true
        if let rank = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"], rank != "0" { return }
        let line = BLASKernelChoice.line(config: openBLASConfig(), coreName: openBLASCoreName(), reason: reason,
                                         threads: blasThreads())
        FileHandle.standardError.write(Data("\(step): \(line)\n".utf8))
    }
}
