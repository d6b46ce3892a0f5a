// lodestone-bench: training throughput of the Swift encoder (forward, MNRL, backward, clip, AdamW) for one
// model size, next to cblas_sgemm's GFLOP/s measured in the same process. Scripts/bench-train.sh runs it
// beside a PyTorch implementation of the same step and prints the ratio.
import ArgumentParser
import COpenBLAS
import Foundation
import LodestoneBase
import LodestoneCLI
import LodestoneModel
import LodestoneTensor

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lodestone-bench",
        abstract: "Measure training pairs/s of a randomly initialised MosaicBERT (or BERT) encoder.")

    @Option(help: "Model size: base (768 hidden, 12 layers, 12 heads, 3072 inner) or small (256, 4, 4, 1024).")
    var model = "base"
    @Option(help: "Pairs (anchor, positive) per step.") var batch = 16
    @Option(help: "Tokens per text (all texts this long, [CLS]/[SEP] included).") var seq = 128
    @Option(help: "Timed steps (after the warm-up steps).") var steps = 3
    @Option(help: "Untimed warm-up steps first (allocations, page faults).") var warmup = 1
    @Option(help: "Memory budget of a step, e.g. 6G: a batch that would not fit runs as cached MNRL (default: none, one pass).")
    var memoryBudget: String?
    @Option(help: "At most this many texts per pass with activations (cached MNRL).") var miniBatchSize: Int?
    @Option(help: "Memory only: stop the first step after this many passes with activations and print the peak RSS so far (every buffer of the step is allocated by its first pass).")
    var memoryPasses: Int?
    @Option(help: "OpenBLAS threads.") var threads = 2
    @Option(help: "Under mpirun, how the ranks' gradients are summed: overlapped (buckets during backward) or blocking (one all-reduce after it).")
    var gradientSum = "blocking"
    @Option(help: "Under mpirun, how each step's rows are divided: cost (tokens plus attention's share, equal shares) or measured (shares by each rank's speed on the steps before).")
    var sliceBalance = "cost"
    @Flag(help: "Classic BERT instead of MosaicBERT.") var bert = false
    @Option(help: "Hidden dropout probability while training (0: none), and attention dropout unless --attention-dropout.")
    var dropout: Float = 0
    @Option(help: "Attention-probability dropout (default: --dropout).") var attentionDropout: Float?
    @Flag(help: "Also print the CPU time of each kernel of one layer at this shape (single-threaded, load-independent).")
    var profile = false
    @Option(help: "Only measure cblas_sgemm of C[M,N] = A[M,K]·B[N,K]ᵀ, given as M,N,K (Scripts/bench-encode.sh's baseline).")
    var sgemmOnly: String?
    @Option(help: "Only measure the training sampler on a store in this directory, created if absent (Scripts/bench-sampler.sh).")
    var samplerOnly: String?
    @Option(help: "With --sampler-only: load the chunk the eager way (before streaming) at this many claimed records.")
    var samplerEagerClaim: Double?
    @Option(help: "GEMM precision: fp32 (cblas_sgemm), bf16 (bf16 inputs, fp32 accumulation; needs avx512_bf16), or auto.")
    var precision = "fp32"
    @Option(help: "Only compare cblas_sgemm with the bf16 kernel on the encoder's products at this many tokens (hidden and inner of --model).")
    var gemmOnly: Int?
    @Option(help: "Only time attention forward + backward (12 heads of 64, ALiBi) over one sequence of this many tokens.")
    var attentionOnly: Int?
    @Option(help: "With --attention-only: tile sizes Q,K (queries × keys per tile) instead of the defaults, for sweeps.")
    var attentionTiles: String?

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)   // line by line: a long run killed midway keeps what it printed
        BLASStartup.announce("lodestone-bench", threads: threads)   // the kernel's line, on stderr
        let ranks = try BenchRanks()   // under mpirun: the ranks share each step (MPIBench.swift)
        defer { try? ranks.finish() }
        if let samplerOnly { return try runSamplerBench(directory: samplerOnly, eagerClaim: samplerEagerClaim) }
        if let sgemmOnly {
            let mnk = sgemmOnly.split(separator: ",").compactMap { Int($0) }
            guard mnk.count == 3, mnk.allSatisfy({ $0 > 0 }) else { throw ValidationError("--sgemm-only wants M,N,K, e.g. 2048,1536,384") }
            print(String(format: "cblas_sgemm: %.1f GFLOP/s", measureSgemmRate(m: mnk[0], n: mnk[1], k: mnk[2]))
                  + " (OpenBLAS kernel \(openBLASCoreName()), threads \(blasThreads()))")
            return
        }
        if let attentionTiles {
            let qk = attentionTiles.split(separator: ",").compactMap { Int($0) }
            guard qk.count == 2, qk.allSatisfy({ $0 > 0 }) else { throw ValidationError("--attention-tiles wants Q,K, e.g. 128,256") }
            attentionTileOverride = (qk[0], qk[1])
        }
        if let attentionOnly { runAttentionBench(length: attentionOnly); return }
        let (h, l, a, i) = model == "small" ? (256, 4, 4, 1024) : (768, 12, 12, 3072)
        let machine = "\(cpuModelName()), OpenBLAS kernel \(openBLASCoreName()), \(blasThreads()) threads"
        if let gemmOnly {
            guard CPUFeatures.host.hasBF16GEMM else { throw PrecisionError(description: "--gemm-only: this CPU lacks avx512_bf16") }
            return runGEMMBench(tokens: gemmOnly, hidden: h, inner: i, machine: machine)
        }
        let matmul = try resolvePrecision(precision, step: "lodestone-bench")
        let cfg = EncoderConfig(mosaic: !bert, hidden: h, layers: l, heads: a, intermediate: i, vocabSize: 30528)
        let tokens = 2 * batch * seq

        // 1. cblas_sgemm at the step's largest shape: [tokens, h] · [i, h]ᵀ (at most 4096 rows: its rate has
        // levelled off there, and larger operands would dominate the peak memory this also reports).
        let sgemm = measureSgemmRate(m: min(tokens, 4096), n: i, k: h)

        let rates = DropoutRates(hidden: dropout, attention: attentionDropout ?? dropout)
        guard (0..<1).contains(rates.hidden), (0..<1).contains(rates.attention) else {
            throw ValidationError("dropout probabilities must lie in [0, 1)")
        }
        if profile { profileKernels(h: h, heads: a, inner: i, tokens: tokens, seq: seq, parameters: cfgParameterCount(cfg), precision: matmul) }

        // 2. The training step on random token ids (a new dropout seed each step, as 04-training).
        let encoder = SentenceEncoder(config: cfg, randomSeed: 42)
        encoder.precision = matmul
        let trainer = EncoderTrainer(encoder: encoder, dropout: rates)
        guard let sum = GradientSum(rawValue: gradientSum) else { throw ValidationError("--gradient-sum must be overlapped or blocking") }
        trainer.gradientSum = sum
        guard let balance = SliceBalance(rawValue: sliceBalance) else { throw ValidationError("--slice-balance must be cost or measured") }
        trainer.sliceBalance = balance
        ranks.attach(to: trainer)
        var budget: Int?
        if let memoryBudget {
            guard let bytes = parseMemorySize(memoryBudget) else { throw ValidationError("--memory-budget wants a size such as 6G or 512M") }
            budget = bytes
        }
        trainer.batching = MiniBatching(maxTexts: miniBatchSize, memoryBudget: budget)
        let plan = trainer.memoryPlan(whole: RaggedBatch(lengths: Array(repeating: seq, count: 2 * batch)), anchors: batch, columns: 2)
        print("plan: " + plan.summary(rows: 2 * batch, tokensPerText: seq))
        var rng = SplitMix64(seed: 7)   // the same batch on every rank under mpirun
        func column() -> [[Int32]] {
            (0..<batch).map { _ in [101] + (0..<(seq - 2)).map { _ in Int32.random(in: 1000..<30000, using: &rng) } + [102] }
        }
        let columns = [column(), column()]
        let clock = DispatchTime.now().uptimeNanoseconds
        trainer.passFinished = { done, total in
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9
            FileHandle.standardError.write(Data(String(format: "pass %d/%d, %.0f s, peak RSS %.0f MB\n", done, total, elapsed, peakResidentMegabytes()).utf8))
            if let limit = memoryPasses, done >= limit {
                print(String(format: "memory model=%@ batch=%d seq=%d passes_run=%d passes_total=%d peak_rss_mb=%.0f", model, batch, seq, done, total, peakResidentMegabytes())
                      + " kernel=\(openBLASCoreName()) precision=\(matmul.rawValue) cpu=\"\(cpuModelName())\"")
                Foundation.exit(0)
            }
        }
        for _ in 0..<warmup { try trainer.trainStep(columns: columns, learningRate: 1e-5, dropoutSeed: 0) }
        ranks.startTiming()
        let cpu0 = cpuSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        var loss: Float = 0
        for step in 0..<steps { loss = try trainer.trainStep(columns: columns, learningRate: 1e-5, dropoutSeed: UInt64(step + 1)).loss }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = cpuSeconds() - cpu0
        let nonEmbedding = encoder.parameterCount - encoder.layout.embeddingParameterCount
        let flops = 6 * Double(nonEmbedding) * Double(tokens) * Double(steps)
        // Attention's own matmuls (QKᵀ and PV: 4·L²·hidden forward, twice that backward), which 6·N·T leaves out.
        let attention = 12 * Double(seq * seq) * Double(h) * Double(l) * Double(2 * batch) * Double(steps)
        // Cached MNRL's embedding pass repeats the forward (a third of the step's matmuls).
        let passes = trainer.lastStepPasses
        var executed = (flops + attention) * (passes.embedding > 0 ? 4.0 / 3 : 1)
        if trainer.lastStepRecomputed {   // backward reruns each layer's up-projection and attention forward
            let upProjection = 2 * Double(encoder.config.hidden * (encoder.config.isMosaic ? 2 : 1) * encoder.config.intermediate)
            executed += upProjection * Double(tokens * l * steps) + attention / 3
        }
        print(String(format: "swift model=%@ params=%d non_embedding=%d batch=%d seq=%d steps=%d seconds=%.3f pairs_per_s=%.3f gflops=%.1f sgemm_gflops=%.1f loss=%.4f threads=%d cpu_seconds=%.3f dropout=%g,%g tokens_per_s=%.1f gflops_with_attention=%.1f executed_gflops=%.1f passes=%d embedding_passes=%d recomputed=%d peak_rss_mb=%.0f",
                     model, encoder.parameterCount, nonEmbedding, batch, seq, steps, seconds,
                     Double(batch * steps) / seconds, flops / seconds / 1e9, sgemm, loss, blasThreads(), cpu,
                     Double(rates.hidden), Double(rates.attention), Double(tokens * steps) / seconds,
                     (flops + attention) / seconds / 1e9, executed / seconds / 1e9, passes.training, passes.embedding,
                     trainer.lastStepRecomputed ? 1 : 0, peakResidentMegabytes()) + " kernel=\(openBLASCoreName())"
              + ranks.fields(seconds: seconds, gradientSum: sum, sliceBalance: balance)
              + " precision=\(matmul.rawValue) cpu=\"\(cpuModelName())\"")
    }
}

/// The process's peak resident set (getrusage's ru_maxrss, KiB on Linux), in MB.
func peakResidentMegabytes() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_maxrss) * 1024 / 1e6
}

func cfgParameterCount(_ c: EncoderConfig) -> Int { ParameterLayout(config: c).totalCount }

/// User + system CPU seconds of this process (all threads).
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

/// CPU time of each kernel of one MosaicBERT layer (forward + backward, GEMMs in `precision`) and of AdamW, one thread.
func profileKernels(h: Int, heads: Int, inner: Int, tokens: Int, seq: Int, parameters: Int, precision: MatmulPrecision) {
    let threads = blasThreads()
    setBLASThreads(1)
    defer { setBLASThreads(threads) }
    func buf(_ n: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        for i in 0..<n { p[i] = Float(i % 97) * 0.001 - 0.04 }
        return p
    }
    let T = tokens, x = buf(T * h), qkv = buf(T * 3 * h), out = buf(T * h), big = buf(T * 2 * inner), act = buf(T * inner)
    let w = buf(2 * inner * h), dw = buf(2 * inner * h), b = buf(3 * h), stats = buf(2 * T)
    let batch = RaggedBatch(lengths: [Int](repeating: seq, count: T / seq))
    let scratch = buf(attentionScratchCount(batch)), lse = buf(heads * T), dqkv = buf(T * 3 * h)
    let shape = AttentionShape(heads: heads, headDim: h / heads, precision: precision)
    let slopes = alibiSlopes(heads: heads)
    func time(_ name: String, flops: Double = 0, _ body: () -> Void) {
        weights?.invalidate()
        let c0 = cpuSeconds(); body(); let c = cpuSeconds() - c0
        print(String(format: "profile %-28@ cpu_ms=%8.1f%@", name as NSString, c * 1000,
                     flops > 0 ? String(format: " gflops=%.1f", flops / c / 1e9) : ""))
    }
    // bf16: weights packed once per block, as a step packs each once (the cache is emptied before each block).
    let weights: BF16WeightCache? = precision == .bf16 ? BF16WeightCache() : nil
    let gemmFlops = 2.0 * Double(T) * Double(h) * Double(3 * h + h + 2 * inner + inner)
    time("layer gemms fwd", flops: gemmFlops) {
        linearForward(qkv, x, w, b, rows: T, inDim: h, outDim: 3 * h, precision: precision, packedWeights: weights)
        linearForward(out, x, w, b, rows: T, inDim: h, outDim: h, precision: precision, packedWeights: weights)
        linearForward(big, x, w, nil, rows: T, inDim: h, outDim: 2 * inner, precision: precision, packedWeights: weights)
        linearForward(out, act, w, b, rows: T, inDim: inner, outDim: h, precision: precision, packedWeights: weights)
    }
    time("layer gemms bwd", flops: 2 * gemmFlops) {
        linearBackward(dinp: x, dweight: dw, dbias: b, dout: qkv, inp: x, weight: w, rows: T, inDim: h, outDim: 3 * h, precision: precision, packedWeights: weights)
        linearBackward(dinp: x, dweight: dw, dbias: b, dout: out, inp: x, weight: w, rows: T, inDim: h, outDim: h, precision: precision, packedWeights: weights)
        linearBackward(dinp: x, dweight: dw, dbias: nil, dout: big, inp: x, weight: w, rows: T, inDim: h, outDim: 2 * inner, precision: precision, packedWeights: weights)
        linearBackward(dinp: act, dweight: dw, dbias: b, dout: out, inp: act, weight: w, rows: T, inDim: inner, outDim: h, precision: precision, packedWeights: weights)
    }
    let attFlops = 4.0 * Double(batch.count) * Double(seq * seq) * Double(h)
    time("attention fwd", flops: attFlops) { attentionForward(out, qkv: qkv, logSumExp: lse, scratch: scratch, batch: batch, shape: shape, alibiSlopes: slopes) }
    time("attention bwd", flops: 3 * attFlops) { attentionBackward(dqkv: dqkv, dout: x, qkv: qkv, out: out, logSumExp: lse, scratch: scratch, batch: batch, shape: shape, alibiSlopes: slopes) }
    let dropoutAttention = AttentionDropout(rate: DropoutRate(0.1), key: 1)
    time("attention fwd, dropout 0.1", flops: attFlops) { attentionForward(out, qkv: qkv, logSumExp: lse, scratch: scratch, batch: batch, shape: shape, alibiSlopes: slopes, dropout: dropoutAttention) }
    time("attention bwd, dropout 0.1", flops: 3 * attFlops) { attentionBackward(dqkv: dqkv, dout: x, qkv: qkv, out: out, logSumExp: lse, scratch: scratch, batch: batch, shape: shape, alibiSlopes: slopes, dropout: dropoutAttention) }
    // A MosaicBERT layer's hidden dropout: attention output [T, h] and gated activation [T, inner].
    let mask = UnsafeMutablePointer<UInt64>.allocate(capacity: dropoutMaskWords(T * inner))
    time("hidden dropout fwd (T×h + T×i)") {
        dropoutForward(x, mask: mask, count: T * h, rate: DropoutRate(0.1), key: 2)
        dropoutForward(act, mask: mask, count: T * inner, rate: DropoutRate(0.1), key: 3)
    }
    time("hidden dropout bwd (T×h + T×i)") {
        dropoutBackward(dx: x, dout: x, mask: mask, count: T * h, rate: DropoutRate(0.1))
        dropoutBackward(dx: act, dout: act, mask: mask, count: T * inner, rate: DropoutRate(0.1))
    }
    time("gated gelu fwd") { gatedGeluForward(act, big, rows: T, inner: inner) }
    time("gated gelu bwd") { gatedGeluBackward(dinp: big, dout: act, inp: big, rows: T, inner: inner) }
    time("layernorm fwd x2") {
        layerNormForward(out, mean: stats, rstd: stats + T, x: x, residual: nil, weight: b, bias: b, rows: T, dim: h, eps: 1e-12)
        layerNormForward(out, mean: stats, rstd: stats + T, x: x, residual: nil, weight: b, bias: b, rows: T, dim: h, eps: 1e-12)
    }
    time("layernorm bwd x2") {
        layerNormBackward(dx: out, dweight: dw, dbias: dw + h, dout: x, x: x, mean: stats, rstd: stats + T, weight: b, rows: T, dim: h)
        layerNormBackward(dx: out, dweight: dw, dbias: dw + h, dout: x, x: x, mean: stats, rstd: stats + T, weight: b, rows: T, dim: h)
    }
    let p = buf(parameters), g = buf(parameters), m = buf(parameters), v = buf(parameters)
    for i in 0..<parameters { v[i] = abs(v[i]) }
    time("adamw (all parameters)") { adamWUpdate(params: p, grads: g, m: m, v: v, count: parameters, lr: 1e-5, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01, step: 1) }
    time("grad norm + zero") { _ = globalNorm(g, count: parameters); g.update(repeating: 0, count: parameters) }
}

BLASStartup.choose(step: "lodestone-bench")   // first: it may start the program again on another kernel
Bench.main()
