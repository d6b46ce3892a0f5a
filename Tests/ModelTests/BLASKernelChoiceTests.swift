// The OpenBLAS kernel choice (BLASKernelChoice.decide), the sgemm self-check, and the line the programs start
// with. The end-to-end cases run built programs in children whose environment they prepare (faked CPU flags and
// core name); this process's own environment, OPENBLAS_CORETYPE included, is never changed, so the tests hold
// under any kernel CI sets.
import Foundation
import XCTest
@testable import LodestoneCore

final class BLASKernelChoiceTests: XCTestCase {
    let avx2 = CPUFeatures(flagList: "fpu sse sse2 ssse3 sse4_1 sse4_2 avx fma avx2 bmi2")
    let avx512 = CPUFeatures(flagList: "sse2 avx fma avx2 avx512f avx512dq avx512bw avx512vl avx512cd")

    func decide(_ cpu: CPUFeatures, core: String, coreType: String? = nil, marker: String? = nil,
                passed: Bool = true) -> BLASKernelDecision {
        BLASKernelChoice.decide(BLASKernelInputs(cpu: cpu, coreName: core, coreType: coreType, marker: marker,
                                                 selfCheckPassed: passed))
    }

    // MARK: CPU features

    func testCPUInfoFlagsGiveTheTier() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx fma avx2 avx512f avx512dq avx512bw avx512vl\nbugs\t\t: spectre_v1\n"
        XCTAssertEqual(CPUFeatures(cpuinfo: cpuinfo).bestTier, .avx512)
        // AVX-512 F alone (no BW/DQ/VL, as on Knights Landing) is not what SkylakeX's kernels need.
        XCTAssertEqual(CPUFeatures(flagList: "avx fma avx2 avx512f").bestTier, .avx2)
        XCTAssertEqual(CPUFeatures(flagList: "avx avx2").bestTier, .avx, "AVX2 without FMA")
        XCTAssertEqual(CPUFeatures(flagList: "sse2,sse3").bestTier, .generic)
        XCTAssertEqual(CPUFeatures(cpuinfo: "processor : 0\nFeatures : fp asimd\n").bestTier, .generic, "ARM: no flags line")
    }

    // MARK: OpenBLAS's own choice

    func testGenericFallbackIsReplacedByTheCPUsBestKernel() {
        XCTAssertEqual(decide(avx512, core: "Prescott"), .reexec(kernel: "SkylakeX", marker: "Prescott>SkylakeX"))
        XCTAssertEqual(decide(avx2, core: "Sandybridge"), .reexec(kernel: "Haswell", marker: "Sandybridge>Haswell"))
        XCTAssertEqual(decide(avx2, core: "Nehalem"), .reexec(kernel: "Haswell", marker: "Nehalem>Haswell"))
        XCTAssertEqual(decide(avx2, core: "Core2"), .reexec(kernel: "Haswell", marker: "Core2>Haswell"))
        // Zen 4/5 with AVX-512, where this OpenBLAS picks Zen: SkylakeX's kernels are twice as fast there.
        XCTAssertEqual(decide(avx512, core: "Zen"), .reexec(kernel: "SkylakeX", marker: "Zen>SkylakeX"))
        // The choice does not wait for the generic kernel's self-check.
        XCTAssertEqual(decide(avx2, core: "Prescott", passed: false), .reexec(kernel: "Haswell", marker: "Prescott>Haswell"))
    }

    func testAGoodOwnChoiceIsKept() {
        XCTAssertEqual(decide(avx2, core: "Zen"), .keep(reason: "OpenBLAS's own choice"))
        XCTAssertEqual(decide(avx2, core: "Haswell"), .keep(reason: "OpenBLAS's own choice"))
        XCTAssertEqual(decide(avx512, core: "SkylakeX"), .keep(reason: "OpenBLAS's own choice"))
        XCTAssertEqual(decide(avx512, core: "Cooperlake"), .keep(reason: "OpenBLAS's own choice"))
        // Without AVX2 nothing is chosen; nor on a build that is not x86-64.
        XCTAssertEqual(decide(CPUFeatures(flagList: "sse2 avx"), core: "Prescott"), .keep(reason: "OpenBLAS's own choice"))
        XCTAssertEqual(decide(avx2, core: "NEOVERSEN1"), .keep(reason: "OpenBLAS's own choice"))
    }

    func testTheChosenKernelIsNamedWithWhy() {
        let decision = decide(avx2, core: "Haswell", coreType: "Haswell", marker: "Prescott>Haswell")
        XCTAssertEqual(decision, .keep(reason: "chosen: CPU has AVX2 and FMA; OpenBLAS picked Prescott"))
        XCTAssertEqual(BLASKernelChoice.line(config: "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64",
                                             coreName: "Haswell", reason: "chosen: CPU has AVX2 and FMA; OpenBLAS picked Prescott",
                                             threads: 2),
                       "OpenBLAS 0.3.21, kernel Haswell (chosen: CPU has AVX2 and FMA; OpenBLAS picked Prescott), 2 threads")
        XCTAssertTrue(BLASKernelChoice.line(config: "OpenBLAS 0.3.21", coreName: "Zen", reason: "r", threads: 1).hasSuffix(", 1 thread"))
    }

    // MARK: the self-check fails

    func testAFailedSelfCheckFallsToTheNextKernelDown() {
        XCTAssertEqual(decide(avx512, core: "SkylakeX", coreType: "SkylakeX", marker: "Prescott>SkylakeX", passed: false),
                       .reexec(kernel: "Haswell", marker: "Prescott>SkylakeX>Haswell"))
        XCTAssertEqual(decide(avx512, core: "Haswell", coreType: "Haswell", marker: "Prescott>SkylakeX>Haswell", passed: false),
                       .reexec(kernel: "Sandybridge", marker: "Prescott>SkylakeX>Haswell>Sandybridge"))
        // Back down at the kernel OpenBLAS picked first: it is tried now, with its own check.
        XCTAssertEqual(decide(avx512, core: "Sandybridge", coreType: "Sandybridge", marker: "Prescott>SkylakeX>Haswell>Sandybridge", passed: false),
                       .reexec(kernel: "Prescott", marker: "Prescott>SkylakeX>Haswell>Sandybridge>Prescott"))
        guard case .stop(let message) = decide(avx512, core: "Prescott", coreType: "Prescott",
                                               marker: "Prescott>SkylakeX>Haswell>Sandybridge>Prescott", passed: false) else {
            return XCTFail("nothing below Prescott: the program must stop")
        }
        XCTAssertTrue(message.contains("Prescott failed its self-check"), message)
        // The one that passed is named with what failed on the way.
        XCTAssertEqual(decide(avx512, core: "Haswell", coreType: "Haswell", marker: "Prescott>SkylakeX>Haswell"),
                       .keep(reason: "chosen: CPU has AVX-512; SkylakeX failed the self-check; OpenBLAS picked Prescott"))
    }

    func testOpenBLASsOwnChoiceFailingFallsBackToo() {
        XCTAssertEqual(decide(avx2, core: "Zen", passed: false), .reexec(kernel: "Sandybridge", marker: "Zen>Sandybridge"))
        XCTAssertEqual(decide(avx2, core: "Sandybridge", coreType: "Sandybridge", marker: "Zen>Sandybridge"),
                       .keep(reason: "fallback; Zen failed the self-check"))
        if case .stop = decide(CPUFeatures(flagList: "sse2"), core: "Prescott", passed: false) {} else { XCTFail("Prescott is the bottom") }
    }

    // MARK: the user's kernel

    func testAKernelTheUserSetIsKept() {
        XCTAssertEqual(decide(avx512, core: "Haswell", coreType: "Haswell"),
                       .keep(reason: "set by OPENBLAS_CORETYPE; this CPU has AVX-512: SkylakeX may be faster"))
        XCTAssertEqual(decide(avx2, core: "Haswell", coreType: "haswell"), .keep(reason: "set by OPENBLAS_CORETYPE"))
        XCTAssertEqual(decide(avx2, core: "Prescott", coreType: "Prescott"),
                       .keep(reason: "set by OPENBLAS_CORETYPE; this CPU has AVX2 and FMA: Haswell may be faster"))
        // A name OpenBLAS does not know: it runs something else, and the line says both.
        XCTAssertEqual(decide(avx2, core: "Haswell", coreType: "Bogus"), .keep(reason: "set by OPENBLAS_CORETYPE=Bogus"))
        // Failing the check, the user's kernel is still kept, with a warning.
        guard case .keep(let reason) = decide(avx2, core: "Haswell", coreType: "Haswell", passed: false) else {
            return XCTFail("the user's kernel is kept")
        }
        XCTAssertTrue(reason.contains("FAILED the self-check"), reason)
        // A kernel exported over one of ours (the marker names another) is the user's.
        XCTAssertEqual(decide(avx2, core: "Zen", coreType: "Zen", marker: "Prescott>Haswell"), .keep(reason: "set by OPENBLAS_CORETYPE"))
    }

    // MARK: no loop

    func testReexecutingNeverLoops() {
        // Run the decision as the process would across re-executions: each sets OPENBLAS_CORETYPE and the marker.
        func run(cpu: CPUFeatures, own: String, failing: Set<String>, runs: (String) -> String = { $0 }) -> (BLASKernelDecision, [String]) {
            var coreType: String?, marker: String?, core = own, set: [String] = []
            for _ in 0..<10 {
                let decision = decide(cpu, core: core, coreType: coreType, marker: marker, passed: !failing.contains(core))
                guard case .reexec(let kernel, let next) = decision else { return (decision, set) }
                XCTAssertFalse(set.contains(kernel), "\(kernel) set twice: \(set)")
                set.append(kernel); coreType = kernel; marker = next; core = runs(kernel)
            }
            XCTFail("still re-executing after 10 starts: \(set)")
            return (.stop(message: ""), set)
        }
        XCTAssertEqual(run(cpu: avx512, own: "Prescott", failing: []).1, ["SkylakeX"])
        XCTAssertEqual(run(cpu: avx512, own: "Prescott", failing: ["SkylakeX", "Haswell"]).1, ["SkylakeX", "Haswell", "Sandybridge"])
        let (last, all) = run(cpu: avx512, own: "Prescott", failing: ["SkylakeX", "Haswell", "Sandybridge", "Prescott"])
        XCTAssertEqual(all, ["SkylakeX", "Haswell", "Sandybridge", "Prescott"])
        if case .stop = last {} else { XCTFail("every kernel failed: must stop, got \(last)") }
        // OpenBLAS ignoring the kernel we set (it keeps running Prescott): kept after one restart, not retried.
        let (ignored, tries) = run(cpu: avx2, own: "Prescott", failing: [], runs: { _ in "Prescott" })
        XCTAssertEqual(tries, ["Haswell"])
        XCTAssertEqual(ignored, .keep(reason: "chosen: CPU has AVX2 and FMA; OpenBLAS picked Prescott; OpenBLAS runs Prescott for Haswell"))
    }

    // MARK: the self-check itself

    func testSelfCheckPassesOnTheRunningKernel() {
        let check = sgemmSelfCheck()
        XCTAssertTrue(check.passed, "\(openBLASCoreName()) strays \(check.worst)× the tolerance")
        XCTAssertGreaterThan(check.worst, 0, "a float32 product matching a Double reference exactly is suspicious")
    }

    func testSelfCheckCatchesABrokenKernel() {
        // A kernel that drops the last K block of the transposed-A product (the weight gradient's).
        let skipsBlock: Sgemm = { ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc in
            openBLASSgemm(ta, tb, m, n, ta ? k - 133 : k, a, lda, b, ldb, beta, c, ldc)
        }
        XCTAssertFalse(sgemmSelfCheck(using: skipsBlock).passed)
        // One entry off by 0.01 (entries are sums of 517 products of numbers in [-1, 1): float rounding is ~1e-5),
        // in the forward product only.
        let oneEntry: Sgemm = { ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc in
            openBLASSgemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
            if tb { c[5 * ldc + 7] += 0.01 }
        }
        XCTAssertFalse(sgemmSelfCheck(using: oneEntry).passed)
        let garbage: Sgemm = { ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc in
            openBLASSgemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
            if !ta && !tb { c[0] = .nan }
        }
        XCTAssertFalse(sgemmSelfCheck(using: garbage).passed)
    }

    // MARK: end to end: built programs, first line

    /// Runs a product built next to the tests with this environment (the test hooks and OpenBLAS's variables
    /// cleared first, then `env`); returns its exit status and stderr's first line.
    func firstLine(_ name: String, _ args: [String], env: [String: String]) throws -> (Int32, String) {
        let bundle = Bundle(for: BLASKernelChoiceTests.self).bundleURL
        guard let executable = [bundle, bundle.deletingLastPathComponent()].map({ $0.appendingPathComponent(name) })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("\(name) is not built next to the tests (swift build --build-tests)")
        }
        var environment = ProcessInfo.processInfo.environment
        for key in ["OPENBLAS_CORETYPE", BLASKernelChoice.markerVariable, BLASStartupHooks.flags, BLASStartupHooks.core,
                    BLASStartupHooks.failing, "OMPI_COMM_WORLD_RANK", "OPENBLAS_VERBOSE"] { environment[key] = nil }
        environment.merge(env) { $1 }
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        p.environment = environment
        let err = Pipe()
        p.standardError = err; p.standardOutput = FileHandle.nullDevice
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "")
    }

    var version: String { openBLASConfig().split(separator: " ").prefix(2).joined(separator: " ") }

    /// The re-executed program must run AVX2 kernels for real: skipped on a CPU without them.
    func requireAVX2() throws {
        let cpu = CPUFeatures(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
        try XCTSkipUnless(cpu.bestTier >= .avx2, "this CPU has no AVX2 and FMA")
    }

    func testBenchChoosesHaswellOverAFakedGenericKernel() throws {
        try requireAVX2()
        let (status, line) = try firstLine("lodestone-bench", ["--sgemm-only", "64,48,32", "--threads", "1"],
                                           env: [BLASStartupHooks.flags: "sse2 avx fma avx2", BLASStartupHooks.core: "Prescott"])
        XCTAssertEqual(status, 0, line)
        XCTAssertEqual(line, "lodestone-bench: \(version), kernel Haswell (chosen: CPU has AVX2 and FMA; OpenBLAS picked Prescott), 1 thread")
    }

    func testBenchFallsBackWhenTheSelfCheckFails() throws {
        try requireAVX2()
        let (status, line) = try firstLine("lodestone-bench", ["--sgemm-only", "64,48,32", "--threads", "2"],
                                           env: [BLASStartupHooks.flags: "sse2 avx fma avx2", BLASStartupHooks.core: "Prescott",
                                                 BLASStartupHooks.failing: "Haswell"])
        XCTAssertEqual(status, 0, line)
        XCTAssertEqual(line, "lodestone-bench: \(version), kernel Sandybridge (chosen: CPU has AVX2 and FMA; Haswell failed the self-check; OpenBLAS picked Prescott), 2 threads")
    }

    func testEveryKernelFailingStopsTheProgram() throws {
        try requireAVX2()
        let (status, line) = try firstLine("lodestone-bench", ["--sgemm-only", "64,48,32", "--threads", "1"],
                                           env: [BLASStartupHooks.flags: "sse2 avx fma avx2", BLASStartupHooks.core: "Prescott",
                                                 BLASStartupHooks.failing: "Haswell,Sandybridge,Prescott"])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(line.hasPrefix("lodestone-bench: error: OpenBLAS kernel Prescott failed its self-check"), line)
    }

    func testStepsNameTheUsersKernelFirst() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("lodestone-no-such-\(UUID().uuidString)").path
        let env = ["OPENBLAS_CORETYPE": "Prescott", BLASStartupHooks.flags: "sse2 avx fma avx2"]
        let expected = "\(version), kernel Prescott (set by OPENBLAS_CORETYPE; this CPU has AVX2 and FMA: Haswell may be faster), 1 thread"
        let (embedStatus, embed) = try firstLine("05-embed", ["--model", missing, "--input", missing + ".txt",
                                                              "--output", missing + ".npy", "--threads", "1"], env: env)
        XCTAssertEqual(embedStatus, 1)
        XCTAssertEqual(embed, "05-embed: " + expected)
        let (trainStatus, train) = try firstLine("04-training", ["--store", missing, "--model", missing,
                                                                 "--output", missing + "-run", "--threads", "1"], env: env)
        XCTAssertEqual(trainStatus, 1)
        XCTAssertEqual(train, "04-training: " + expected)
    }
}

/// The test hooks' variable names, as BLASStartup reads them.
enum BLASStartupHooks {
    static let flags = "LODESTONE_TEST_CPU_FLAGS", core = "LODESTONE_TEST_BLAS_CORENAME", failing = "LODESTONE_TEST_BLAS_CHECK_FAILS"
}
