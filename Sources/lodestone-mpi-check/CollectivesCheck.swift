import ArgumentParser
import Foundation
import LodestoneBase
import LodestoneDistributed

/// One rank's results, compared by DistributedTests with values it derives from the same input formulas.
struct RankResults: Codable {
    var rank: Int
    var size: Int
    var mpi: Bool
    var allReduce: [Float]
    var allGather: [Float]
    var broadcast: [UInt8]
    var asyncFirst: [Float]
    var asyncSecond: [Float]
    var badRootError: String?
}

struct RankFailure: Error, CustomStringConvertible {
    var description: String { "deliberate failure (--fail throw)" }
}

struct CollectivesCheck: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "collectives",
        abstract: "Run every collective on known inputs; write <out>/rank-<r>.json.")

    @Option(help: "Directory for the per-rank result files.") var out: String
    @Option(help: "This rank fails after the first collectives (the others wait in a barrier).") var failRank: Int?
    @Option(help: "How it fails: throw (error → MPI_Abort with status 3), exit (exit(3) without MPI_Finalize), kill (SIGKILL), stall (sleeps).")
    var fail = "throw"
    @Option(help: "Seconds a collective may wait for the other ranks (MPICollective.stallTimeout).") var stallTimeout: Double?

    func validate() throws {
        guard ["throw", "exit", "kill", "stall"].contains(fail) else { throw ValidationError("--fail must be throw, exit, kill or stall") }
    }

    func run() throws {
        runRank("lodestone-mpi-check", status: 3) { c in
            let r = c.rank, n = c.size
            (c as? MPICollective)?.stallTimeout = stallTimeout

            // Sum all-reduce, in place. Inputs are small integers and quarters: every sum is exact.
            var reduced = (0..<1000).map { i in Float((r + 1) * (i % 13)) + 0.25 * Float(r) }
            try reduced.withUnsafeMutableBufferPointer { try c.allReduceSum($0.baseAddress!, count: $0.count) }

            // All-gather with a different count per rank: rank q sends 2 + 3q floats, 1000q + j.
            let counts = (0..<n).map { 2 + 3 * $0 }
            let mine = (0..<counts[r]).map { Float(1000 * r + $0) }
            var gathered = [Float](repeating: -1, count: counts.reduce(0, +))
            try gathered.withUnsafeMutableBufferPointer { try c.allGather(mine, into: $0.baseAddress!, counts: counts) }

            // Broadcast of 300 bytes from the last rank; every other rank starts with zeros.
            var bytes = [UInt8](repeating: 0, count: 300)
            if r == n - 1 { for k in bytes.indices { bytes[k] = UInt8((k * 7 + 3) % 256) } }
            try bytes.withUnsafeMutableBytes { try c.broadcast($0.baseAddress!, count: 300, root: n - 1) }

            // Two all-reduces in flight at once, as two gradient buckets would be.
            let first = UnsafeMutablePointer<Float>.allocate(capacity: 500), second = UnsafeMutablePointer<Float>.allocate(capacity: 700)
            defer { first.deallocate(); second.deallocate() }
            for i in 0..<500 { first[i] = Float((r + 1) * i) }
            for i in 0..<700 { second[i] = Float(2 * r - i) }
            let firstRequest = try c.startAllReduceSum(first, count: 500)
            let secondRequest = try c.startAllReduceSum(second, count: 700)
            _ = try secondRequest.test()
            try firstRequest.wait()
            try secondRequest.wait()

            // An invalid root: MPI's own error, returned (not fatal) and worded in one line.
            var badRootError: String?
            if n > 1 {
                var scratch: UInt8 = 0
                do { try c.broadcast(&scratch, count: 1, root: n + 5) } catch { badRootError = describe(error) }
            }
            try c.barrier()

            let results = RankResults(rank: r, size: n, mpi: !(c is SingleProcess), allReduce: reduced, allGather: gathered,
                                      broadcast: bytes, asyncFirst: Array(UnsafeBufferPointer(start: first, count: 500)),
                                      asyncSecond: Array(UnsafeBufferPointer(start: second, count: 700)), badRootError: badRootError)
            try AtomicFile.write(JSONEncoder().encode(results), to: URL(fileURLWithPath: out).appendingPathComponent("rank-\(r).json"),
                                 durable: false)

            if failRank == r {
                switch fail {
                case "exit": Foundation.exit(3)
                case "kill": kill(getpid(), SIGKILL)
                case "stall": sleep(600)
                default: throw RankFailure()
                }
            }
            // The surviving ranks wait here for the failed one: only an abort of the whole job ends them.
            try c.barrier()
        }
    }
}
