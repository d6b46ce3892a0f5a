import Foundation

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

/// `h:mm:ss`, or `Nd h:mm:ss` past a day (the full schedule runs for weeks on CPUs).
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    var s = Int(seconds.rounded())
    let days = s / 86_400; s %= 86_400
    let text = String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
    return days > 0 ? "\(days)d \(text)" : text
}

/// Prints progress to stderr: a self-overwriting line on a terminal, one line every `interval` seconds otherwise
/// (so logs of unattended runs stay readable).
public final class ProgressPrinter {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let interval: Double
    private var lastPrint = -Double.infinity
    private var lineOpen = false

    public init(interval: Double = 10) { self.interval = interval }

    public func update(_ snapshot: ProgressSnapshot, force: Bool = false) {
        let now = Date().timeIntervalSinceReferenceDate
        if isTerminal {
            guard force || now - lastPrint >= 0.2 else { return }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + snapshot.line).utf8))
            lineOpen = true
        } else {
            guard force || now - lastPrint >= interval else { return }
            FileHandle.standardError.write(Data((snapshot.line + "\n").utf8))
        }
        lastPrint = now
    }

    /// Ends the overwriting line before other output.
    public func finishLine() {
        if lineOpen { FileHandle.standardError.write(Data("\n".utf8)); lineOpen = false }
    }

    public func message(_ text: String) {
        finishLine()
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
