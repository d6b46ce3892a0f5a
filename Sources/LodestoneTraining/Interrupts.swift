import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C, as the original's operator used it: the first fails the current epoch (its updates are dropped and
/// training goes on); a second within `window` seconds asks to checkpoint and exit. The trainer polls between steps.
public final class InterruptController: @unchecked Sendable {
    public let window: Double
    private let lock = NSLock()
    private var lastInterrupt: Double?
    private var failPending = false
    private var stopPending = false

    public init(window: Double = 3) { self.window = window }

    /// Routes SIGINT here instead of killing the process. The handler only writes a byte to a pipe (the one
    /// async-signal-safe thing it may do); a thread reads the pipe and records the interrupt.
    public func installSignalHandler() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        interruptPipeWriteEnd = fds[1]
        let readEnd = fds[0]
        signal(SIGINT) { _ in
            var byte: UInt8 = 1
            _ = write(interruptPipeWriteEnd, &byte, 1)
        }
        let t = Thread { [weak self] in
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) == 1 {
                guard let self else { break }
                let stop = self.receive()
                FileHandle.standardError.write(Data((stop ? "\nCtrl-C again: checkpointing and exiting\n"
                    : "\nCtrl-C: failing this epoch (press again within \(Int(self.window)) s to checkpoint and exit)\n").utf8))
            }
            close(readEnd)
        }
        t.start()
    }

    /// Gives SIGINT back its default action.
    public func removeSignalHandler() {
        signal(SIGINT, SIG_DFL)
        if interruptPipeWriteEnd >= 0 { close(interruptPipeWriteEnd); interruptPipeWriteEnd = -1 }
    }

    /// Records one interrupt at `now` (seconds); returns true when it is the second within the window.
    @discardableResult
    public func receive(now: Double = Date().timeIntervalSinceReferenceDate) -> Bool {
        lock.lock(); defer { lock.unlock() }
        if let last = lastInterrupt, now - last <= window {
            stopPending = true
            lastInterrupt = nil
            return true
        }
        lastInterrupt = now
        failPending = true
        return false
    }

    /// True once per first Ctrl-C: the trainer fails the epoch.
    public func takeFailRequest() -> Bool {
        lock.lock(); defer { lock.unlock() }
        let r = failPending; failPending = false; return r
    }

    public var stopRequested: Bool { lock.lock(); defer { lock.unlock() }; return stopPending }
}

/// Write end of the pipe the SIGINT handler signals through (a global: C signal handlers cannot capture).
private var interruptPipeWriteEnd: Int32 = -1

/// Faults injected for tests and drills, keyed by the global step number (1-based) they hit:
/// `LODESTONE_FAULTS="nan@3,stall@5,interrupt@7,stop@9,crash@11"`.
public enum Fault: String, Sendable {
    /// The step reports a NaN loss (as a diverged model would).
    case nan
    /// The step reports an infinite gradient norm.
    case infGrad = "inf-grad"
    /// The step takes longer than the stall timeout.
    case stall
    /// One Ctrl-C before the step.
    case interrupt
    /// Two Ctrl-Cs in quick succession before the step.
    case stop
    /// The process dies before the step as under `kill -9`: nothing after the last checkpoint is written.
    case crash
}

public struct FaultPlan: Sendable {
    public var faults: [Int: Fault]
    public init(_ faults: [Int: Fault] = [:]) { self.faults = faults }

    /// Parses `kind@step,…`; an unknown kind is an error naming it.
    public init(parsing text: String) throws {
        var faults: [Int: Fault] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "@")
            guard parts.count == 2, let fault = Fault(rawValue: String(parts[0])), let step = Int(parts[1]) else {
                throw TrainingError.config(file: "LODESTONE_FAULTS", field: String(item), reason: "expected kind@step with kind one of nan, inf-grad, stall, interrupt, stop, crash")
            }
            faults[step] = fault
        }
        self.faults = faults
    }

    /// `LODESTONE_FAULTS` for the process of `rank`: under mpirun `LODESTONE_FAULTS_RANK=R` gives them to rank R
    /// alone (a drill of one machine dying: `crash`, or stalling: `stall`); without it every rank gets them.
    public static func fromEnvironment(rank: Int = 0) throws -> FaultPlan {
        let env = ProcessInfo.processInfo.environment
        guard let text = env["LODESTONE_FAULTS"], !text.isEmpty else { return FaultPlan() }
        if let only = env["LODESTONE_FAULTS_RANK"], !only.isEmpty {
            guard let target = Int(only) else {
                throw TrainingError.config(file: "LODESTONE_FAULTS_RANK", field: nil, reason: "'\(only)' is not a rank number")
            }
            if target != rank { return FaultPlan() }
        }
        return try FaultPlan(parsing: text)
    }
}

/// Thrown by an injected `crash` fault.
public struct SimulatedCrash: Error, CustomStringConvertible {
    public let step: Int
    public var description: String { "simulated crash before step \(step)" }
}

/// Last resort for a step that never returns (a hung read, a deadlock): after `hardTimeout` seconds without
/// progress the process exits with status 75 (EX_TEMPFAIL); the last checkpoint is whole, so `--resume`
/// continues. Soft stalls (slow but finishing steps) are caught by the trainer itself.
public final class StallWatchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var lastProgress = Date().timeIntervalSinceReferenceDate
    private var armed = false
    private var thread: Thread?
    private var running = true

    public init() {}

    public func start(hardTimeout: Double, onHardStall: @escaping @Sendable () -> Void = {
        FileHandle.standardError.write(Data("\nno progress for too long: exiting; rerun with --resume\n".utf8)); exit(75)
    }) {
        let t = Thread { [weak self] in
            while true {
                Thread.sleep(forTimeInterval: min(1, hardTimeout / 4))
                guard let self else { return }
                self.lock.lock()
                let stalled = self.armed && Date().timeIntervalSinceReferenceDate - self.lastProgress > hardTimeout
                let running = self.running
                self.lock.unlock()
                if !running { return }
                if stalled { onHardStall(); return }
            }
        }
        thread = t
        t.start()
    }

    /// Counts as progress; `armed` false pauses the watchdog (between epochs, while loading a chunk).
    public func beat(armed: Bool = true) {
        lock.lock(); lastProgress = Date().timeIntervalSinceReferenceDate; self.armed = armed; lock.unlock()
    }

    public func stop() { lock.lock(); running = false; lock.unlock() }
}
