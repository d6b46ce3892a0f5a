import Foundation
import LodestoneStorage
import LodestoneReport
import LodestoneModel
import LodestoneBase

/// Where training stands: the epoch to run (or in progress), the step inside it, and the running totals.
public struct TrainerProgress: Codable, Equatable, Sendable {
    public var cycle = 0, chunk = 0, epoch = 0
    /// Steps already taken in the current epoch (non-zero only for a checkpoint inside an epoch).
    public var stepInEpoch = 0
    /// Steps of succeeded epochs: the number in train_logs.txt.
    public var committedSteps = 0
    /// Every step run, failed epochs included: the step column of loss.csv.
    public var executedSteps = 0
    public var succeededEpochs = 0, failedEpochs = 0
    /// Lines in train_logs.txt at this point (extra lines from a killed run are dropped on resume).
    public var logLines = 0
    /// The last of those lines: the checkpoint is written before the line is appended, so a resume can put
    /// back a line that a kill kept from the log.
    public var lastLogLine: String?
    public var finished = false
    public init() {}
}

/// The JSON half of a checkpoint (`state.json`); the floats go in `model.bin`.
public struct CheckpointState: Codable, Sendable {
    public var format = 1
    public var progress: TrainerProgress
    public var sampler: SamplerState
    public var lossAverage: MovingAverage
    public var config: TrainingConfig
    public var parameterCount: Int
    public var optimizerStep: Int
    /// Checksum of model.bin, so a damaged file is refused rather than trained on.
    public var weightsChecksum: UInt64
}

/// Checkpoints in an object store (a local directory is a `LocalStore`): `ckpt-NNNNNN/state.json` and
/// `ckpt-NNNNNN/model.bin` (parameters, first moments, second moments as little-endian float32), then
/// `LATEST` naming it. Each object is written atomically and LATEST last, so a kill at any moment leaves the
/// previous checkpoint whole; older checkpoints are deleted after LATEST moves.
public final class Checkpointer {
    public let store: ObjectStore
    public let prefix: String
    private var sequence = 0

    /// `prefix` is a key prefix inside the store ("" or ending in "/").
    public init(store: ObjectStore, prefix: String = "") {
        self.store = store
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
    }

    public var location: String { "\(store)/\(prefix)" }

    /// Writes `model` (streamed from where the model keeps it) and `state`, then moves LATEST to them.
    public func save(_ state: CheckpointState, model: TrainingStateView) throws {
        var state = state
        sequence += 1
        let name = String(format: "ckpt-%06d", sequence)
        let arrays = model.arrays.map(UnsafeBufferPointer.init)
        state.weightsChecksum = Self.checksum(arrays)
        state.optimizerStep = model.optimizerStep
        state.parameterCount = model.count
        try store.write(key: prefix + name + "/model.bin", expectedSize: Int64(3 * model.count * 4)) { writer in
            for array in arrays { try writer.write(UnsafeRawBufferPointer(array)) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try store.putData(key: prefix + name + "/state.json", try encoder.encode(state))
        try store.putData(key: prefix + "LATEST", Data((name + "\n").utf8))
        var old = Set<String>()
        for object in try store.list(prefix: prefix + "ckpt-") where !object.key.hasPrefix(prefix + name + "/") {
            try? store.delete(key: object.key)
            old.insert(String(object.key.dropFirst(prefix.count).prefix { $0 != "/" }))
        }
        if let local = store as? LocalStore {   // a directory store keeps empty folders behind: tidy them
            for folder in old { try? FileManager.default.removeItem(at: local.root.appendingPathComponent(prefix + folder)) }
        }
    }

    /// Whether a checkpoint exists: LATEST, or any `ckpt-*` object (which `latestState` then finds or refuses).
    public func exists() throws -> Bool {
        try store.head(key: prefix + "LATEST") != nil || !(try store.list(prefix: prefix + "ckpt-")).isEmpty
    }

    /// The newest checkpoint's JSON half (its name and state), or nil when there is none; `model.bin` is not
    /// read. LATEST names it; without LATEST (lost, or deleted by hand) the newest complete `ckpt-*` is found
    /// and verified whole (its state.json, and model.bin's size and checksum), and when none is, the run is
    /// refused rather than started over: the checkpoints are deleted only by a run given --restart.
    public func latestState() throws -> (name: String, state: CheckpointState)? {
        guard try store.head(key: prefix + "LATEST") != nil else { return try newestCompleteState() }
        let name = String(decoding: try store.getData(key: prefix + "LATEST"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard name.hasPrefix("ckpt-"), let number = Int(name.dropFirst(5)) else {
            throw TrainingError.checkpoint(path: location + "LATEST", reason: "names '\(name)', not ckpt-NNNNNN")
        }
        let state = try readState(name)
        sequence = max(sequence, number)
        return (name, state)
    }

    private func readState(_ name: String) throws -> CheckpointState {
        do {
            return try JSONDecoder().decode(CheckpointState.self, from: try store.getData(key: prefix + name + "/state.json"))
        } catch {
            throw TrainingError.checkpoint(path: location + name + "/state.json", reason: "unreadable: \(describe(error))")
        }
    }

    /// Without LATEST: the newest `ckpt-NNNNNN` whose state.json reads and whose model.bin has the size and
    /// checksum it promises; nil when there are no `ckpt-*` objects at all; an error naming each one tried
    /// when none is whole.
    private func newestCompleteState() throws -> (name: String, state: CheckpointState)? {
        let names = Set(try store.list(prefix: prefix + "ckpt-").map { String($0.key.dropFirst(prefix.count).prefix { $0 != "/" }) })
        guard !names.isEmpty else { return nil }
        var refusals: [String] = []
        for name in names.sorted(by: >) {
            guard let number = Int(name.dropFirst(5)) else { refusals.append("\(name): not ckpt-NNNNNN"); continue }
            do {
                let state = try readState(name)
                try verifyWeights(name, state: state)
                sequence = max(sequence, number)
                return (name, state)
            } catch {
                refusals.append(describe(error))
            }
        }
        throw TrainingError.checkpoint(path: location + "LATEST", reason: "missing, and no complete checkpoint to continue (\(refusals.joined(separator: "; "))); pass --restart to start over (it deletes them)")
    }

    /// Streams `name/model.bin` through the checksum without holding it: the size and checksum state.json promises.
    private func verifyWeights(_ name: String, state: CheckpointState) throws {
        let where_ = location + name + "/model.bin"
        let expected = 3 * state.parameterCount * 4
        let reader = try store.openReader(key: prefix + name + "/model.bin")
        defer { reader.close() }
        var h = Self.checksumSeed
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try Self.readFully(reader, into: $0) }
            guard n > 0 else { break }
            total += n
            if total > expected { throw TrainingError.checkpoint(path: where_, reason: "longer than the \(expected) bytes state.json promises") }
            buffer.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: UInt32.self) { words in
                    for w in words.prefix(n / 4) { h = (h ^ UInt64(w)) &* Self.checksumPrime }
                }
            }
            if n < buffer.count { break }
        }
        if total < expected { throw TrainingError.checkpoint(path: where_, reason: "truncated at byte \(total) of \(expected)") }
        if h != state.weightsChecksum { throw TrainingError.checkpoint(path: where_, reason: "checksum mismatch: the file is damaged") }
    }

    /// Reads the newest whole checkpoint, its arrays straight into `model`'s (which must hold as many
    /// parameters); nil when there is none. A damaged file throws after overwriting them.
    public func loadLatest(into model: inout TrainingStateView) throws -> CheckpointState? {
        guard let (name, state) = try latestState() else { return nil }
        try checkCount(state, model: model.count)
        try loadArrays(name, state: state, into: &model)
        return state
    }

    /// Refuses a checkpoint of another model size before any of its bytes is read.
    func checkCount(_ state: CheckpointState, model count: Int) throws {
        guard state.parameterCount == count else {
            throw TrainingError.checkpoint(path: location, reason: "holds \(state.parameterCount) parameters, the model has \(count)")
        }
    }

    /// `name/model.bin` into `model`'s arrays, checked against the size and checksum `state` promises.
    func loadArrays(_ name: String, state: CheckpointState, into model: inout TrainingStateView) throws {
        let where_ = location + name + "/model.bin"
        let n = state.parameterCount
        let reader = try store.openReader(key: prefix + name + "/model.bin")
        defer { reader.close() }
        for (i, array) in model.arrays.enumerated() {
            let got = try Self.readFully(reader, into: UnsafeMutableRawBufferPointer(array))
            if got != n * 4 { throw TrainingError.checkpoint(path: where_, reason: "truncated at byte \(i * n * 4 + got) of \(3 * n * 4)") }
        }
        var probe = [UInt8](repeating: 0, count: 1)
        if try probe.withUnsafeMutableBytes({ try reader.read(into: $0) }) != 0 {
            throw TrainingError.checkpoint(path: where_, reason: "longer than the \(3 * n * 4) bytes state.json promises")
        }
        if Self.checksum(model.arrays.map(UnsafeBufferPointer.init)) != state.weightsChecksum {
            throw TrainingError.checkpoint(path: where_, reason: "checksum mismatch: the file is damaged")
        }
        model.optimizerStep = state.optimizerStep
    }

    private static func readFully(_ reader: ByteReader, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// FNV-1a over the 32-bit words of the arrays: cheap next to writing them, catches damaged files.
    static let checksumSeed: UInt64 = 0xCBF2_9CE4_8422_2325
    static let checksumPrime: UInt64 = 0x100_0000_01B3

    static func checksum(_ arrays: [UnsafeBufferPointer<Float>]) -> UInt64 {
        var h = checksumSeed
        for array in arrays {
            UnsafeRawBufferPointer(array).withMemoryRebound(to: UInt32.self) { words in
                for w in words { h = (h ^ UInt64(w)) &* checksumPrime }
            }
        }
        return h
    }

    /// The checksum of a model's state where it lies (what `save` would record).
    public static func checksum(_ model: TrainingStateView) -> UInt64 { checksum(model.arrays.map(UnsafeBufferPointer.init)) }
}
