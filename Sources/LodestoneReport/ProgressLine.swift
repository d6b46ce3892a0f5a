import Foundation
import LodestoneBase

/// A loss average over the last `window` values: the number a person watches, smoother than one step's loss.
public struct MovingAverage: Codable, Equatable, Sendable {
    public let window: Int
    private var values: [Double] = []
    private var sum = 0.0
    private var next = 0

    public init(window: Int = 100) { self.window = max(1, window) }

    public mutating func add(_ value: Double) {
        if values.count < window {
            values.append(value); sum += value
        } else {
            sum += value - values[next]; values[next] = value
            next = (next + 1) % window
        }
    }

    public var value: Double { values.isEmpty ? .nan : sum / Double(values.count) }
    public var count: Int { values.count }
}

/// One progress report: step, throughput, smoothed loss, learning rate, time left.
public struct ProgressSnapshot: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var pairsPerSecond: Double
    public var lossAverage: Double
    public var learningRate: Double
    public var secondsLeft: Double?
    public var label: String

    public init(step: Int, totalSteps: Int, pairsPerSecond: Double, lossAverage: Double, learningRate: Double,
                secondsLeft: Double?, label: String = "") {
        self.step = step; self.totalSteps = totalSteps; self.pairsPerSecond = pairsPerSecond
        self.lossAverage = lossAverage; self.learningRate = learningRate; self.secondsLeft = secondsLeft
        self.label = label
    }

    /// `cycle 0 chunk 3 epoch 1 | step 120/400 | 35.2 pairs/s | loss 1.2345 | lr 4.50e-04 | ETA 0:03:12`
    public var line: String {
        var parts: [String] = []
        if !label.isEmpty { parts.append(label) }
        parts.append("step \(step)/\(totalSteps)")
        parts.append(String(format: "%.1f pairs/s", pairsPerSecond))
        parts.append(lossAverage.isFinite ? String(format: "loss %.4f", lossAverage) : "loss \(lossAverage)")
        parts.append(String(format: "lr %.2e", learningRate))
        parts.append("ETA " + (secondsLeft.map(formatDuration) ?? "?"))
        return parts.joined(separator: " | ")
    }
}

extension ProgressPrinter {
    public func update(_ snapshot: ProgressSnapshot, force: Bool = false) { update(line: snapshot.line, force: force) }
}
