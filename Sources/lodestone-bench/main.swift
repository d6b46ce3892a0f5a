// lodestone-bench: training throughput of the Swift encoder (forward, MNRL, backward, clip, AdamW) for one
// model size, next to cblas_sgemm's GFLOP/s measured in the same process. Scripts/bench-train.sh runs it
// beside a PyTorch implementation of the same step and prints the ratio.
import ArgumentParser
import COpenBLAS
import Foundation
import LodestoneModel
import LodestoneTensor

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lodestone-bench",
        abstract: "Measure training pairs/s of a randomly initialised MosaicBERT (or BERT) encoder.")

    @Option(help: "Model size: base (768 hidden, 12 layers, 12 heads, 3072 inner) or small (256, 4, 4, 1024).")
    var model = "base"
    @Option(help: "Pairs (anchor, positive) per step.") var batch = 16
    @Option(help: "Tokens per text (all texts this long, [CLS]/[SEP] included).") var seq = 128
    @Option(help: "Timed steps (after one warm-up step).") var steps = 3
    @Option(help: "OpenBLAS threads.") var threads = 2
    @Flag(help: "Classic BERT instead of MosaicBERT.") var bert = false

    func run() throws {
        setBLASThreads(threads)
        let (h, l, a, i) = model == "small" ? (256, 4, 4, 1024) : (768, 12, 12, 3072)
        let cfg = EncoderConfig(mosaic: !bert, hidden: h, layers: l, heads: a, intermediate: i, vocabSize: 30528)
        let tokens = 2 * batch * seq

        // 1. cblas_sgemm at the step's largest shape: [tokens, h] · [i, h]ᵀ.
        let sgemm = measureSgemm(m: tokens, n: i, k: h)

        // 2. The training step on random token ids.
        let encoder = SentenceEncoder(config: cfg, randomSeed: 42)
        let trainer = EncoderTrainer(encoder: encoder)
        var rng = SystemRandomNumberGenerator()
        func column() -> [[Int32]] {
            (0..<batch).map { _ in [101] + (0..<(seq - 2)).map { _ in Int32.random(in: 1000..<30000, using: &rng) } + [102] }
        }
        let columns = [column(), column()]
        try trainer.trainStep(columns: columns, learningRate: 1e-5) // warm-up: allocations, page faults
        let start = DispatchTime.now().uptimeNanoseconds
        var loss: Float = 0
        for _ in 0..<steps { loss = try trainer.trainStep(columns: columns, learningRate: 1e-5).loss }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let nonEmbedding = encoder.parameterCount - encoder.layout.embeddingParameterCount
        let flops = 6 * Double(nonEmbedding) * Double(tokens) * Double(steps)
        print(String(format: "swift model=%@ params=%d non_embedding=%d batch=%d seq=%d steps=%d seconds=%.3f pairs_per_s=%.3f gflops=%.1f sgemm_gflops=%.1f loss=%.4f threads=%d",
                     model, encoder.parameterCount, nonEmbedding, batch, seq, steps, seconds,
                     Double(batch * steps) / seconds, flops / seconds / 1e9, sgemm, loss, blasThreads()))
    }

    /// Best of 5 runs of C[m,n] = A[m,k] · B[n,k]ᵀ, in GFLOP/s.
    func measureSgemm(m: Int, n: Int, k: Int) -> Double {
        let a = [Float](repeating: 0.01, count: m * k), b = [Float](repeating: 0.02, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), 0, &c, Int32(n))
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }
}

Bench.main()
