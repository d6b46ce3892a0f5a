import ArgumentParser
import Foundation
import LodestoneBase
import LodestoneDistributed
import LodestoneModel

struct AllReduceBandwidth: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "allreduce-bandwidth",
        abstract: "Time the sum all-reduce of one model's flat gradient; rank 0 prints GB/s.")

    @Option(help: "Gradient of this MosaicBERT size: base (768 hidden, 12 layers, 3072 inner) or small (256, 4, 1024).")
    var model = "base"
    @Option(help: "Floats to reduce instead of a model's parameter count.") var floats: Int?
    @Option(help: "Timed all-reduces (after one warm-up); the best is reported.") var repeats = 3
    @Option(help: "Also time the gradient as this many buckets all in flight at once (MPI_Iallreduce); 0: skip.")
    var buckets = 8

    func validate() throws {
        guard ["base", "small"].contains(model) else { throw ValidationError("--model must be base or small") }
        guard repeats > 0, buckets >= 0, (floats ?? 1) > 0 else { throw ValidationError("--repeats, --buckets and --floats must be positive") }
    }

    func run() throws {
        let (h, l, a, i) = model == "small" ? (256, 4, 4, 1024) : (768, 12, 12, 3072)
        let config = EncoderConfig(mosaic: true, hidden: h, layers: l, heads: a, intermediate: i, vocabSize: 30528)
        let count = floats ?? ParameterLayout(config: config).totalCount
        runRank("lodestone-mpi-check") { c in
            let gradient = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { gradient.deallocate() }
            gradient.initialize(repeating: 1, count: count)  // touches every page before timing
            let bytes = Double(count * MemoryLayout<Float>.size)

            func best(_ reduce: () throws -> Void) throws -> Double {
                try c.barrier()
                try reduce()  // warm-up: the transport's buffers and connections
                var seconds = Double.infinity
                for _ in 0..<repeats {
                    gradient.update(repeating: 1, count: count)
                    try c.barrier()
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    try reduce()
                    seconds = min(seconds, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                }
                guard gradient[count - 1] == Float(c.size) else {
                    throw ValidationError("all-reduce sum is \(gradient[count - 1]), not \(c.size)")
                }
                return seconds
            }
            func report(_ mode: String, _ seconds: Double) {
                guard c.isRoot else { return }
                // Bus bandwidth: what each rank's link carries in a ring all-reduce, 2(N−1)/N of the buffer.
                let n = Double(c.size), algorithm = bytes / seconds / 1e9
                print(String(format: "allreduce model=%@ floats=%d bytes=%.0f ranks=%d mode=%@ seconds=%.4f algbw_gbs=%.3f busbw_gbs=%.3f",
                             floats == nil ? model : "custom", count, bytes, c.size, mode, seconds, algorithm,
                             algorithm * 2 * (n - 1) / max(n, 1)))
            }

            report("blocking", try best { try c.allReduceSum(gradient, count: count) })
            if buckets > 0 {
                let bucket = (count + buckets - 1) / buckets
                report("buckets=\(buckets)", try best {
                    let requests = try stride(from: 0, to: count, by: bucket).map { start in
                        try c.startAllReduceSum(gradient + start, count: min(bucket, count - start))
                    }
                    for request in requests { try request.wait() }
                })
            }
        }
    }
}
