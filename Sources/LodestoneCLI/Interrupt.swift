// Ctrl-C for steps that keep what they finished: the handler saves, says so, and exits with 130.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs `handler` on its own queue when SIGINT arrives, instead of the default silent kill. Keep the returned
/// source alive for as long as the handler should apply.
public func onInterrupt(_ handler: @escaping @Sendable () -> Void) -> DispatchSourceSignal {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "lodestone.interrupt"))
    source.setEventHandler(handler: handler)
    source.resume()
    return source
}

/// The exit status of a run stopped by Ctrl-C (128 + SIGINT), as shells report it.
public let interruptedExitStatus: Int32 = 130
