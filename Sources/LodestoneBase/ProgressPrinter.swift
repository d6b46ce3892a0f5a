import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Prints progress to stderr: a self-overwriting line on a terminal, one line every `interval` seconds otherwise
/// (so logs of unattended runs stay readable). Safe to call from several threads.
public final class ProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let interval: Double
    private var lastPrint = -Double.infinity
    private var lineOpen = false

    public init(interval: Double = 10) { self.interval = interval }

    public func update(line: String, force: Bool = false) {
        lock.lock(); defer { lock.unlock() }
        let now = Date().timeIntervalSinceReferenceDate
        if isTerminal {
            guard force || now - lastPrint >= 0.2 else { return }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            lineOpen = true
        } else {
            guard force || now - lastPrint >= interval else { return }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        lastPrint = now
    }

    /// Ends the overwriting line before other output.
    public func finishLine() {
        lock.lock(); defer { lock.unlock() }
        endLine()
    }

    private func endLine() {
        if lineOpen { FileHandle.standardError.write(Data("\n".utf8)); lineOpen = false }
    }

    public func message(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        endLine()
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
