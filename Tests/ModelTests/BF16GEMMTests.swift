// The bf16 GEMM against a Double triple loop written here, on odd sizes and every transpose combination, and the
// precision choice on faked CPUs. The kernel tests skip on a CPU without AVX512_BF16 (the refusal tests do not).
import XCTest
@testable import LodestoneCore

final class BF16GEMMTests: XCTestCase {
    var hostHasBF16: Bool { CPUFeatures.host.hasBF16GEMM }

    /// A row-major matrix of `rows` × `cols` with leading dimension cols + pad, values from a seeded generator.
    func matrix(_ rows: Int, _ cols: Int, pad: Int, seed: UInt64, exact: Bool) -> (values: [Float], ld: Int) {
        var rng = SplitMix64(seed: seed)
        let ld = cols + pad
        let values = (0..<(rows * ld)).map { _ -> Float in
            // exact: small multiples of 1/16, which bf16's 8 significant bits hold exactly.
            exact ? Float(Int(rng.nextDouble() * 33) - 16) / 16 : Float(rng.nextDouble() * 2 - 1)
        }
        return (values, ld)
    }

    /// Runs C = alpha·op(A)·op(B) + beta·C in bf16 and checks every element against the Double reference.
    func check(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, exact: Bool, file: StaticString = #filePath, line: UInt = #line) {
        let (aRows, aCols) = transA ? (k, m) : (m, k), (bRows, bCols) = transB ? (n, k) : (k, n)
        let (a, lda) = matrix(aRows, aCols, pad: 3, seed: 1, exact: exact)
        let (b, ldb) = matrix(bRows, bCols, pad: 5, seed: 2, exact: exact)
        var (c, ldc) = matrix(m, n, pad: 2, seed: 3, exact: exact)
        let c0 = c
        let alpha: Float = exact ? 0.5 : 0.75, beta: Float = 0.5
        bf16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, &c, ldc: ldc)
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exactSum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let x = Double(transA ? a[p * lda + i] : a[i * lda + p]), y = Double(transB ? b[j * ldb + p] : b[p * ldb + j])
                    exactSum += x * y; magnitude += abs(x * y)
                }
                let want = Double(alpha) * exactSum + Double(beta) * Double(c0[i * ldc + j])
                // Bound: each input rounded to bf16 (8 significant bits, round to nearest: relative error ≤ u = 2^-8)
                // makes each product off by ≤ (2u + u²)·|x·y|; the fp32 sum of k terms adds ≤ k·2^-24·Σ|x·y|;
                // alpha, beta and the final fp32 rounding add a few ulps of the result. Values exactly
                // representable in bf16 leave only the fp32 terms.
                let ulp = 0x1p-24, perProduct: Double = exact ? 0 : 0x1p-7 + 0x1p-16
                let sumBound: Double = (perProduct + Double(k + 2) * ulp) * Double(abs(alpha)) * magnitude
                let betaTerm: Double = abs(Double(beta) * Double(c0[i * ldc + j]))
                let bound: Double = sumBound + 4 * ulp * (abs(want) + betaTerm)
                let error = abs(Double(c[i * ldc + j]) - want)
                worst = max(worst, error / max(bound, .leastNormalMagnitude))
                if error > bound {
                    XCTFail("C[\(i),\(j)] = \(c[i * ldc + j]), want \(want) ± \(bound) (m \(m) n \(n) k \(k) transA \(transA) transB \(transB))", file: file, line: line)
                    return
                }
            }
        }
        // Padding columns of C (beyond n) are never written.
        for i in 0..<m { for j in n..<ldc where c[i * ldc + j] != c0[i * ldc + j] { XCTFail("wrote C[\(i),\(j)] past n", file: file, line: line); return } }
    }

    let sizes = [(1, 1, 1), (7, 7, 7), (1, 769, 7), (769, 7, 1), (7, 1, 769), (769, 7, 769), (7, 769, 769), (769, 769, 7), (40, 33, 385)]

    func testRandomInputsWithinBF16Bound() throws {
        try XCTSkipUnless(hostHasBF16, "this CPU lacks avx512_bf16")
        for (m, n, k) in sizes { for ta in [false, true] { for tb in [false, true] {
            check(m: m, n: n, k: k, transA: ta, transB: tb, exact: false)
        } } }
    }

    func testBF16RepresentableInputsAreExact() throws {
        try XCTSkipUnless(hostHasBF16, "this CPU lacks avx512_bf16")
        for (m, n, k) in sizes { for ta in [false, true] { for tb in [false, true] {
            check(m: m, n: n, k: k, transA: ta, transB: tb, exact: true)
        } } }
    }

    /// Rounding really happens: 1 + 2^-10 is not a bf16 value, so its product with 1 comes back as 1.
    func testInputsAreRoundedToBF16() throws {
        try XCTSkipUnless(hostHasBF16, "this CPU lacks avx512_bf16")
        let a: [Float] = [1 + 0x1p-10], b: [Float] = [1]
        var c: [Float] = [0]
        bf16GEMM(transA: false, transB: false, m: 1, n: 1, k: 1, alpha: 1, a, lda: 1, b, ldb: 1, beta: 0, &c, ldc: 1)
        XCTAssertEqual(c[0], 1)
    }

    /// beta 0 overwrites C without reading it (BLAS's rule): NaN in C does not leak.
    func testBetaZeroIgnoresC() throws {
        try XCTSkipUnless(hostHasBF16, "this CPU lacks avx512_bf16")
        let a = [Float](repeating: 1, count: 9 * 5), b = [Float](repeating: 2, count: 5 * 3)
        var c = [Float](repeating: .nan, count: 9 * 3)
        bf16GEMM(transA: false, transB: false, m: 9, n: 3, k: 5, alpha: 1, a, lda: 5, b, ldb: 3, beta: 0, &c, ldc: 3)
        XCTAssertEqual(c, [Float](repeating: 10, count: 27))
    }

    // MARK: the choice of precision, on faked CPUs

    let withBF16 = CPUFeatures(flagList: "avx2 fma avx512f avx512bw avx512dq avx512vl avx512_bf16")
    let withoutBF16 = CPUFeatures(flagList: "avx2 fma avx512f avx512bw avx512dq avx512vl")

    func testBF16RefusedWithoutTheInstructions() {
        XCTAssertThrowsError(try PrecisionRequest.bf16.resolve(cpu: withoutBF16, bf16IsFaster: { true })) { error in
            let line = "\(error)"
            XCTAssertTrue(line.contains("avx512_bf16") && !line.contains("\n"), line)
        }
        XCTAssertEqual(try PrecisionRequest.bf16.resolve(cpu: withBF16, bf16IsFaster: { false }), .bf16)
    }

    func testAutoTakesBF16OnlyWhereSupportedAndFaster() throws {
        XCTAssertEqual(try PrecisionRequest.auto.resolve(cpu: withBF16, bf16IsFaster: { true }), .bf16)
        XCTAssertEqual(try PrecisionRequest.auto.resolve(cpu: withBF16, bf16IsFaster: { false }), .fp32)
        var measured = false
        XCTAssertEqual(try PrecisionRequest.auto.resolve(cpu: withoutBF16, bf16IsFaster: { measured = true; return true }), .fp32)
        XCTAssertFalse(measured, "auto must not run the bf16 kernel on a CPU without it")
        XCTAssertEqual(try PrecisionRequest.fp32.resolve(cpu: withBF16, bf16IsFaster: { true }), .fp32)
    }
}

/// The CLI refusal, end to end: 05-embed --precision bf16 on a CPU faked without avx512_bf16 stops with one line
/// and status 64 before embedding; a bad value is a usage error.
final class PrecisionFlagTests: XCTestCase {
    func run(_ args: [String], flags: String) throws -> StepResult {
        setenv("LODESTONE_TEST_PRECISION_CPU_FLAGS", flags, 1)
        defer { unsetenv("LODESTONE_TEST_PRECISION_CPU_FLAGS") }
        return try runStep("05-embed", args)
    }

    func testBF16RefusedOnACPUWithoutIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bf16-flag-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.txt"), output = dir.appendingPathComponent("out.npy")
        try "hello world\n".write(to: input, atomically: true, encoding: .utf8)
        let args = ["--model", mosaicTiny.path, "--input", input.path, "--output", output.path, "--threads", "1"]
        let refused = try run(args + ["--precision", "bf16"], flags: "avx2 fma avx512f avx512bw avx512dq avx512vl")
        XCTAssertEqual(refused.status, 64, refused.output)
        let errors = refused.output.split(separator: "\n").filter { $0.contains("error") }
        XCTAssertEqual(errors, ["05-embed: error: --precision bf16: this CPU lacks avx512_bf16 (its bf16 GEMM instructions); use fp32 or auto"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
        // auto on the same CPU falls back to fp32 and embeds.
        let auto = try run(args + ["--precision", "auto"], flags: "avx2 fma avx512f avx512bw avx512dq avx512vl")
        XCTAssertEqual(auto.status, 0, auto.output)
        XCTAssertTrue(auto.output.contains("precision fp32"), auto.output)
        let bad = try run(args + ["--precision", "fp16"], flags: "")
        XCTAssertEqual(bad.status, 64, bad.output)
        XCTAssertTrue(bad.output.contains("--precision must be fp32, bf16 or auto, found fp16"), bad.output)
    }
}
