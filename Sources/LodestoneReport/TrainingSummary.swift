import Foundation
import LodestoneBase

/// What a training run did, printed at the end of 04-training.
public struct TrainingSummary: Sendable {
    public var succeededEpochs: Int
    public var failedEpochs: Int
    public var committedSteps: Int
    public var executedSteps: Int
    public var seconds: Double
    public var pairs: Int
    public var lastLossAverage: Double
    public var outputs: [(String, String)]
    /// The best epoch by the first evaluation set's primary metric (04-training --eval).
    public var bestEvaluation: EvalRow?

    public init(succeededEpochs: Int, failedEpochs: Int, committedSteps: Int, executedSteps: Int, seconds: Double,
                pairs: Int, lastLossAverage: Double, outputs: [(String, String)], bestEvaluation: EvalRow? = nil) {
        self.succeededEpochs = succeededEpochs; self.failedEpochs = failedEpochs
        self.committedSteps = committedSteps; self.executedSteps = executedSteps
        self.seconds = seconds; self.pairs = pairs; self.lastLossAverage = lastLossAverage; self.outputs = outputs
        self.bestEvaluation = bestEvaluation
    }

    public var text: String {
        var lines = [
            "epochs: \(succeededEpochs) succeeded, \(failedEpochs) failed",
            "steps: \(committedSteps) kept, \(executedSteps) run in total",
            "time: \(formatDuration(seconds)), " + String(format: "%.1f pairs/s", seconds > 0 ? Double(pairs) / seconds : 0),
            "loss (moving average): " + (lastLossAverage.isFinite ? String(format: "%.4f", lastLossAverage) : "n/a"),
        ]
        if let b = bestEvaluation {
            lines.append(String(format: "best epoch: cycle %d, chunk %d, epoch %d (step %d): %@ %@ %.4f",
                                b.cycle, b.chunk, b.epoch, b.step, b.data, b.metric, b.value))
        }
        let pad = outputs.map(\.0.count).max() ?? 0
        lines += outputs.map { $0.0.padding(toLength: pad, withPad: " ", startingAt: 0) + "  " + $0.1 }
        return lines.joined(separator: "\n")
    }
}
