// --precision fp32|bf16|auto, shared by 04-training, 05-embed and lodestone-bench. A value that is none of the
// three is a usage error; bf16 on a CPU without avx512_bf16 is refused in one line with status 64 (EX_USAGE,
// as for any flag the program cannot honour), before any work.
import ArgumentParser
import Foundation
import LodestoneBase
import LodestoneTensor

/// The test hook: CPU flags to use instead of this machine's for the precision choice only (BLASStartup's own
/// hook would also move the OpenBLAS kernel).
public let fakePrecisionFlagsVariable = "LODESTONE_TEST_PRECISION_CPU_FLAGS"

/// The precision `value` asks for on this machine (or the CPU `fakePrecisionFlagsVariable` fakes); `auto` times
/// both kernels at the current thread count, so call it after setting the threads.
public func resolvePrecision(_ value: String, step: String = "lodestone-bench") throws -> MatmulPrecision {
    guard let request = PrecisionRequest(argument: value) else {
        throw ValidationError("--precision must be fp32, bf16 or auto, found \(value)")
    }
    var cpu = ProcessInfo.processInfo.environment[fakePrecisionFlagsVariable].map { CPUFeatures(flagList: $0) } ?? .host
    if !CPUFeatures.host.hasBF16GEMM { cpu.flags.remove("avx512_bf16") }   // a fake may take the feature away, never add it
    do {
        return try request.resolve(cpu: cpu)
    } catch let error as PrecisionError {
        printError(step, error.description)
        throw ExitCode(64)
    }
}
