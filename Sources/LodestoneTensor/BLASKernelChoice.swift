// Which OpenBLAS kernel a step should run on, decided from what the CPU supports, what OpenBLAS picked, what the
// user asked for and whether the running kernel passed its self-check. Pure: the process side (reading
// /proc/cpuinfo, re-executing, printing) is LodestoneCLI's BLASStartup.
//
// Why: Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) falls back to a generic kernel on CPUs newer than itself (Prescott on
// a Sapphire Rapids Xeon: 64 GFLOP/s against 291 with SkylakeX), and OpenBLAS reads OPENBLAS_CORETYPE only
// when the library loads, so a better kernel means setting the variable and starting the program again.

/// The CPU features OpenBLAS's x86-64 kernels depend on, from /proc/cpuinfo's `flags` line.
public struct CPUFeatures: Equatable, Sendable {
    public var flags: Set<String>

    public init(flags: Set<String>) { self.flags = flags }

    /// Flags separated by spaces or commas (the test hook's format, and cpuinfo's own).
    public init(flagList: String) {
        flags = Set(flagList.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map { $0.lowercased() })
    }

    /// The first `flags` line of /proc/cpuinfo (every core lists the same); no such line: no features.
    public init(cpuinfo: String) {
        let line = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") && $0.contains(":") }
        self.init(flagList: line.map { String($0[$0.index(after: $0.firstIndex(of: ":")!)...]) } ?? "")
    }

    /// The best kernel family this CPU runs: AVX-512 needs F, BW, DQ and VL (what OpenBLAS's SkylakeX kernels use).
    public var bestTier: KernelTier {
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return .avx512 }
        if flags.contains("avx2") && flags.contains("fma") { return .avx2 }
        if flags.contains("avx") { return .avx }
        return .generic
    }
}

/// OpenBLAS x86-64 kernels grouped by the instructions they need.
public enum KernelTier: Int, Comparable, Sendable {
    case generic, avx, avx2, avx512

    public static func < (a: KernelTier, b: KernelTier) -> Bool { a.rawValue < b.rawValue }

    /// How the line names what the CPU has.
    var cpuHas: String {
        switch self {
        case .avx512: return "AVX-512"
        case .avx2: return "AVX2 and FMA"
        case .avx: return "AVX"
        case .generic: return "no AVX"
        }
    }

    /// The kernel chosen for a CPU of this tier (on AMD Zen, Haswell's and Zen's sgemm run alike).
    var kernel: String? {
        switch self {
        case .avx512: return "SkylakeX"
        case .avx2: return "Haswell"
        default: return nil
        }
    }
}

/// OpenBLAS's x86-64 core names (as `openblas_get_corename` reports them) and what each needs.
enum OpenBLASCore {
    static let avx512 = ["skylakex", "cooperlake", "sapphirerapids"]
    static let avx2 = ["haswell", "zen"]
    static let avx = ["sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"]
    static let generic = ["katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn",
                          "dunnington", "nehalem", "athlon", "opteron", "opteron(sse3)", "opteron_sse3", "barcelona",
                          "nano", "unknown"]

    /// nil for a name that is not an x86-64 kernel (an ARM or POWER build): nothing is chosen there.
    static func tier(_ name: String) -> KernelTier? {
        let n = name.lowercased().replacingOccurrences(of: " ", with: "")
        if avx512.contains(n) { return .avx512 }
        if avx2.contains(n) { return .avx2 }
        if avx.contains(n) { return .avx }
        if generic.contains(n) { return .generic }
        return nil
    }

    /// The next kernel down when `name` fails its self-check: SkylakeX → Haswell → Sandybridge → Prescott.
    static func fallback(from name: String) -> String? {
        switch tier(name) {
        case .avx512: return "Haswell"
        case .avx2: return "Sandybridge"
        case .avx: return "Prescott"
        case .generic: return name.lowercased() == "prescott" ? nil : "Prescott"
        case nil: return nil
        }
    }
}

/// What a process knows when it decides.
public struct BLASKernelInputs: Equatable, Sendable {
    /// CPU features (/proc/cpuinfo, or the test hook).
    public var cpu: CPUFeatures
    /// The kernel OpenBLAS runs now (`openblas_get_corename`).
    public var coreName: String
    /// OPENBLAS_CORETYPE as this process found it (nil: unset or empty).
    public var coreType: String?
    /// BLASKernelChoice.markerVariable as this process found it: set only by our own re-exec.
    public var marker: String?
    /// Whether the running kernel passed the sgemm self-check.
    public var selfCheckPassed: Bool

    public init(cpu: CPUFeatures, coreName: String, coreType: String?, marker: String?, selfCheckPassed: Bool) {
        self.cpu = cpu; self.coreName = coreName; self.marker = marker; self.selfCheckPassed = selfCheckPassed
        self.coreType = coreType.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// The decision: run on, start again on another kernel, or stop.
public enum BLASKernelDecision: Equatable, Sendable {
    /// Run on the current kernel; `reason` goes in the line's parentheses.
    case keep(reason: String)
    /// Set OPENBLAS_CORETYPE to `kernel` and the marker to `marker`, and start the program again.
    case reexec(kernel: String, marker: String)
    /// No kernel left that passed the self-check: one line, exit status 1.
    case stop(message: String)
}

public enum BLASKernelChoice {
    /// Set with OPENBLAS_CORETYPE by our re-exec: OpenBLAS's own choice, then every kernel we set, in order
    /// (`Prescott>SkylakeX>Haswell`). A process that finds it knows OPENBLAS_CORETYPE is ours, not the user's,
    /// and never sets a kernel it already tried, so re-executing cannot loop.
    public static let markerVariable = "LODESTONE_BLAS_KERNEL"
    /// At most this many kernels in the marker: a last guard against a loop.
    static let maxChain = 6

    public static func decide(_ input: BLASKernelInputs) -> BLASKernelDecision {
        let chain = input.marker.map { $0.split(separator: ">").map(String.init) } ?? []
        // The user's OPENBLAS_CORETYPE: kept, whatever it is. The marker is ours only when its last kernel is the
        // one set now (a user who exports another kernel in a shell we started overrides us).
        if let coreType = input.coreType {
            let ours = chain.count >= 2 && chain.last!.lowercased() == coreType.lowercased()
            if !ours { return .keep(reason: userReason(input, coreType: coreType)) }
            if input.selfCheckPassed { return .keep(reason: chosenReason(input, chain: chain)) }
            return fallBack(from: input.coreName, chain: chain)
        }
        // OpenBLAS's own choice: replaced by the CPU's best kernel when it is a lower one on an AVX2/AVX-512 CPU.
        let best = input.cpu.bestTier
        if best >= .avx2, let tier = OpenBLASCore.tier(input.coreName), tier < best, let kernel = best.kernel {
            return .reexec(kernel: kernel, marker: "\(input.coreName)>\(kernel)")
        }
        if input.selfCheckPassed { return .keep(reason: "OpenBLAS's own choice") }
        return fallBack(from: input.coreName, chain: [input.coreName])
    }

    /// The running kernel failed its self-check: the next one down that was not tried yet, or stop.
    static func fallBack(from core: String, chain: [String]) -> BLASKernelDecision {
        let tried = Set(chain.dropFirst().map { $0.lowercased() } + [core.lowercased()])
        var next = OpenBLASCore.fallback(from: core)
        while let candidate = next, tried.contains(candidate.lowercased()) { next = OpenBLASCore.fallback(from: candidate) }
        guard let next, chain.count < maxChain else {
            return .stop(message: "OpenBLAS kernel \(core) failed its self-check (cblas_sgemm against a Double reference) and no kernel below it is left to try; set OPENBLAS_CORETYPE to run on one anyway")
        }
        return .reexec(kernel: next, marker: (chain + [next]).joined(separator: ">"))
    }

    /// The reason for a kernel we set: why we started on it, and what failed on the way.
    static func chosenReason(_ input: BLASKernelInputs, chain: [String]) -> String {
        let own = chain[0], set = Array(chain.dropFirst())
        let upgraded = (OpenBLASCore.tier(set[0]) ?? .generic) > (OpenBLASCore.tier(own) ?? .generic)
        let failed = upgraded ? Array(set.dropLast()) : [own] + set.dropLast()
        var parts = [upgraded ? "chosen: CPU has \(input.cpu.bestTier.cpuHas)" : "fallback"]
        if !failed.isEmpty { parts.append("\(failed.joined(separator: ", ")) failed the self-check") }
        if upgraded { parts.append("OpenBLAS picked \(own)") }
        if set.last!.lowercased() != input.coreName.lowercased() { parts.append("OpenBLAS runs \(input.coreName) for \(set.last!)") }
        return parts.joined(separator: "; ")
    }

    /// The reason for a kernel the user set, with a note when the CPU has a faster one or it failed the check.
    static func userReason(_ input: BLASKernelInputs, coreType: String) -> String {
        var reason = "set by OPENBLAS_CORETYPE"
        if coreType.lowercased() != input.coreName.lowercased() { reason += "=\(coreType)" }
        if !input.selfCheckPassed {
            reason += "; it FAILED the self-check (cblas_sgemm against a Double reference): unset OPENBLAS_CORETYPE to let the steps choose"
        } else if let tier = OpenBLASCore.tier(input.coreName), tier < input.cpu.bestTier, let faster = input.cpu.bestTier.kernel {
            reason += "; this CPU has \(input.cpu.bestTier.cpuHas): \(faster) may be faster"
        }
        return reason
    }

    /// The first line of a step: `OpenBLAS 0.3.21, kernel Haswell (chosen: CPU has AVX2 and FMA; …), 2 threads`.
    /// `config` is `openblas_get_config()` (its first two words name the version).
    public static func line(config: String, coreName: String, reason: String, threads: Int) -> String {
        let version = config.split(separator: " ").prefix(2).joined(separator: " ")
        return "\(version.isEmpty ? "OpenBLAS" : version), kernel \(coreName) (\(reason)), \(threads) thread\(threads == 1 ? "" : "s")"
    }
}
