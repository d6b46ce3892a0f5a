import Foundation

/// A value set once by any thread and read by all: the first error that condemns a whole run.
public final class Latch<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?

    public init() {}

    public var value: Value? { lock.lock(); defer { lock.unlock() }; return stored }

    /// Keeps the first value; later ones are ignored.
    public func set(_ v: Value) { lock.lock(); if stored == nil { stored = v }; lock.unlock() }
}
