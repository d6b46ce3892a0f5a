// lodestone-bench under mpirun (Scripts/bench-scale.sh): the ranks share every step of the global batch as
// 04-training does (EncoderTrainer.collective); the collectives are timed, and rank 0 alone prints the line,
// with the share of the step spent in them and the gradient all-reduce's rate.
import Foundation
import LodestoneBase
import LodestoneDistributed
import LodestoneModel

struct BenchRanks {
    /// nil for a plain run (no MPI at all).
    let timed: TimedCollective?

    init() throws {
        timed = MPICollective.launchedByMPI ? TimedCollective(try MPICollective.world()) : nil
        // Only rank 0 prints (every rank computes the same numbers of its own share).
        if let timed, !timed.isRoot { _ = freopen("/dev/null", "w", stdout) }
    }

    /// The ranks share `trainer`'s steps; the columns every rank passes must be the same (a seeded generator).
    func attach(to trainer: EncoderTrainer) { if let timed { trainer.collective = timed } }

    /// Before the timed steps: forget the warm-up's collectives.
    func startTiming() { timed?.reset() }

    /// ` ranks=N gradient_sum=… slice_balance=… comm_seconds=… comm_share=… allgather_seconds=… allreduce_seconds=… allreduce_calls=…
    /// allreduce_gbs=…` for the timed steps (`seconds` in all); empty for a plain run. Overlapped, the all-reduce's
    /// seconds are those the step spent inside its calls (start, test, wait): what backward did not hide, and its
    /// GB/s is over that time.
    func fields(seconds: Double, gradientSum: GradientSum, sliceBalance: SliceBalance) -> String {
        guard let timed else { return "" }
        let reduce = timed.totals["allReduceSum"] ?? (0, 0, 0), gather = timed.totals["allGather"] ?? (0, 0, 0)
        return String(format: " ranks=%d gradient_sum=%@ slice_balance=%@ comm_seconds=%.3f comm_share=%.3f allgather_seconds=%.3f allreduce_seconds=%.3f allreduce_calls=%d allreduce_gbs=%.2f",
                      timed.size, gradientSum.rawValue, sliceBalance.rawValue, timed.seconds, timed.seconds / seconds, gather.seconds, reduce.seconds, reduce.calls,
                      reduce.seconds > 0 ? Double(reduce.bytes) / reduce.seconds / 1e9 : 0)
    }

    func finish() throws { if let timed { try finishCollective(timed.wrapped) } }
}
