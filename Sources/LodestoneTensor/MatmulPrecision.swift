// What the matrix products run in. fp32: cblas_sgemm. bf16: inputs rounded to bfloat16, products summed in fp32
// (CBF16GEMM's VDPBF16PS kernel), as PyTorch's CPU autocast runs linear layers and attention's matmuls; everything
// else (master weights, AdamW, LayerNorm, softmax, the loss, reductions) stays fp32 whatever the choice.
import CBF16GEMM
import Foundation

/// The precision of the GEMMs of a forward or training pass.
public enum MatmulPrecision: String, Sendable, CaseIterable {
    case fp32, bf16
}

/// What a user asks for: a precision, or `auto` (bf16 where the CPU has it and it is faster there).
public enum PrecisionRequest: String, Sendable, CaseIterable {
    case fp32, bf16, auto

    /// Parses a command-line value; nil for anything else.
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

/// Refusal of `bf16` on a CPU that cannot run it: one line.
public struct PrecisionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(description: String) { self.description = description }
}

public extension CPUFeatures {
    /// Whether the bf16 GEMM kernel can run: AVX512_BF16 (VDPBF16PS, with AVX512F/BW underneath). AMX-BF16 CPUs
    /// (Sapphire Rapids on) have AVX512_BF16 too, which is what the kernel uses.
    var hasBF16GEMM: Bool { ["avx512f", "avx512bw", "avx512_bf16"].allSatisfy(flags.contains) }

    /// This machine as the OS reports it (/proc/cpuinfo), confirmed by CPUID and XGETBV (the instructions and
    /// the ZMM state both present); elsewhere than Linux, CPUID alone.
    static var host: CPUFeatures {
        let supported = bf16_gemm_cpu_supported() == 1
        var flags = CPUFeatures(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").flags
        if !supported { flags.remove("avx512_bf16") }
        else if flags.isEmpty { flags = ["avx512f", "avx512bw", "avx512_bf16"] }
        return CPUFeatures(flags: flags)
    }
}

public extension PrecisionRequest {
    /// The precision to run. `bf16` on a CPU without the kernel's instructions throws one line; `auto` takes
    /// bf16 only when the CPU has them and `bf16IsFaster` (a measurement, see `bf16GEMMIsFaster`) says so.
    /// `cpu` and `bf16IsFaster` are parameters so the tests can fake the machine.
    func resolve(cpu: CPUFeatures = .host, bf16IsFaster: () -> Bool = { bf16GEMMIsFaster() }) throws -> MatmulPrecision {
        switch self {
        case .fp32: return .fp32
        case .bf16:
            guard cpu.hasBF16GEMM else {
                throw PrecisionError(description: "--precision bf16: this CPU lacks avx512_bf16 (its bf16 GEMM instructions); use fp32 or auto")
            }
            return .bf16
        case .auto: return cpu.hasBF16GEMM && bf16IsFaster() ? .bf16 : .fp32
        }
    }
}

/// The CPU's model name (/proc/cpuinfo), for benchmark lines; "unknown CPU" where there is none.
public func cpuModelName() -> String {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    guard let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let colon = line.firstIndex(of: ":") else { return "unknown CPU" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
}
