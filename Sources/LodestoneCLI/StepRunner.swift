// The error boundary of every numbered step: whatever goes wrong ends the step with one line on stderr,
// `<step>: error: <path or file:line>: <reason>`, and an exit status that tells the truth.
import ArgumentParser
import Foundation
import LodestoneBase
import LodestoneStorage
import LodestoneTensor

/// Runs a step's body. ArgumentParser's own exits pass through (usage errors print the usage); every other
/// error is described in one line (Foundation's file errors included, see `describe`) and exits with 1.
/// The step's first line names the OpenBLAS kernel (BLASStartup), after setting `blasThreads` when given.
public func runStep(_ name: String, blasThreads: Int? = nil, _ body: () throws -> Void) throws {
    BLASStartup.announce(name, threads: blasThreads)
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let exit as CleanExit {
        throw exit
    } catch let usage as ValidationError {
        throw usage
    } catch {
        printError(name, describe(error))
        throw ExitCode.failure
    }
}

/// `<step>: error: <message>` on stderr.
public func printError(_ step: String, _ message: String) {
    FileHandle.standardError.write(Data("\(step): error: \(message)\n".utf8))
}

extension ParsableCommand {
    /// `main()`, except that only rank `rank` 0 prints a usage error: under mpirun every rank parses the same
    /// arguments, and one copy of the usage text is enough. Every rank exits with the same status (64).
    public static func main(printingUsageOnRankZero rank: Int) {
        let command: ParsableCommand
        do { command = try parseAsRoot() } catch {
            // The other ranks give rank 0 a moment: the first non-zero exit makes mpirun tear the job down, and
            // rank 0's usage text, not yet forwarded, would be lost with it.
            if rank != 0 { Thread.sleep(forTimeInterval: 1); Foundation.exit(exitCode(for: error).rawValue) }
            exit(withError: error)
        }
        do {
            var running = command
            try running.run()
        } catch {
            exit(withError: error)
        }
    }
}
