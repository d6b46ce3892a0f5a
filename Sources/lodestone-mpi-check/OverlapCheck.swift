import ArgumentParser
import Foundation
import LodestoneBase
import LodestoneDistributed
import LodestoneModel

/// What DistributedTests compares: one training step of small random encoders, the gradients summed by the
/// blocking all-reduce and by buckets overlapped with backward, and the same step in one process; then three
/// steps with slices balanced by measured speed, on the ranks and in one process.
struct OverlapCheck: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "overlap",
        abstract: "One training step per case, blocking and overlapped gradient sums; write <out>/<case>-<who>.f32 and rank-<r>.json.")

    @Option(help: "Directory for the result files.") var out: String
    @Option(help: "Encoder layers of the small models.") var layers = 3

    /// Per case: buckets the overlapped sum started, and each way's loss and gradient norm.
    struct Summary: Codable { var buckets: [String: Int]; var loss: [String: Float]; var gradNorm: [String: Float] }

    func run() throws {
        runRank("lodestone-mpi-check") { c in
            var summary = Summary(buckets: [:], loss: [:], gradNorm: [:])
            // MosaicBERT and BERT (position embeddings in the embeddings' dense part); one pass, and cached passes
            // of 3 texts (only the last pass overlaps).
            for (name, mosaic, textsPerPass) in [("mosaic", true, nil), ("bert", false, nil), ("mosaic-cached", true, 3)] as [(String, Bool, Int?)] {
                let config = EncoderConfig(mosaic: mosaic, hidden: 32, layers: layers, heads: 4, intermediate: 64, vocabSize: 500)
                var rng = SplitMix64(seed: 11)   // the same batch on every rank; lengths differ so slices are uneven
                let columns: [[[Int32]]] = (0..<3).map { _ in
                    (0..<5).map { _ in [101] + (0..<Int.random(in: 3...14, using: &rng)).map { _ in Int32.random(in: 200..<500, using: &rng) } + [102] }
                }
                let ways: [(String, Collective, GradientSum)] = [("single", SingleProcess(), .blocking),
                                                                 ("rank\(c.rank)-blocking", c, .blocking),
                                                                 ("rank\(c.rank)-overlapped", c, .overlapped)]
                for (who, collective, sum) in ways {
                    let trainer = EncoderTrainer(encoder: SentenceEncoder(config: config, randomSeed: 42))
                    trainer.collective = collective
                    trainer.gradientSum = sum
                    trainer.gradientBucketFloats = 1   // one bucket per layer
                    trainer.batching = MiniBatching(maxTexts: textsPerPass)
                    let r = try trainer.computeGradients(columns: columns)
                    let gradients = Array(UnsafeBufferPointer(start: trainer.gradients, count: trainer.parameterCount))
                    trainer.applyGradients(learningRate: 1e-3)
                    let parameters = Array(UnsafeBufferPointer(start: trainer.encoder.parameters, count: trainer.parameterCount))
                    let key = "\(name)-\(who)"
                    if sum == .overlapped { summary.buckets[name] = trainer.lastStepBuckets }
                    summary.loss[key] = r.loss; summary.gradNorm[key] = r.gradNorm
                    if who == "single" && !c.isRoot { continue }   // one file per case: rank 0's
                    try (gradients + parameters).withUnsafeBytes {
                        try Data($0).write(to: URL(fileURLWithPath: out).appendingPathComponent("\(key).f32"))
                    }
                }
            }
            // Slices by measured speed: three steps, the later ones split by the speeds the ranks shared.
            let config = EncoderConfig(mosaic: true, hidden: 32, layers: layers, heads: 4, intermediate: 64, vocabSize: 500)
            var rng = SplitMix64(seed: 12)
            let columns: [[[Int32]]] = (0..<2).map { _ in
                (0..<6).map { _ in [101] + (0..<Int.random(in: 3...14, using: &rng)).map { _ in Int32.random(in: 200..<500, using: &rng) } + [102] }
            }
            for (who, collective) in [("single", SingleProcess()), ("rank\(c.rank)", c)] as [(String, Collective)] {
                let trainer = EncoderTrainer(encoder: SentenceEncoder(config: config, randomSeed: 43))
                trainer.collective = collective
                trainer.sliceBalance = .measured
                for step in 0..<3 {
                    let r = try trainer.trainStep(columns: columns, learningRate: 1e-3)
                    summary.loss["measured-\(who)-step\(step)"] = r.loss
                }
                if who == "single" && !c.isRoot { continue }
                try Array(UnsafeBufferPointer(start: trainer.encoder.parameters, count: trainer.parameterCount)).withUnsafeBytes {
                    try Data($0).write(to: URL(fileURLWithPath: out).appendingPathComponent("measured-\(who).f32"))
                }
            }
            try AtomicFile.write(JSONEncoder().encode(summary), to: URL(fileURLWithPath: out).appendingPathComponent("rank-\(c.rank).json"),
                                 durable: false)
        }
    }
}
