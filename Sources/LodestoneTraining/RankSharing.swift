// What rank 0 reads and every rank must hold identically under mpirun: the newest checkpoint. Only rank 0 reads
// the checkpoint store and sends its bytes to the others (MPI_Bcast), so the ranks cannot disagree about where
// training stands and the other machines need no access to the checkpoints at all.
import Foundation
import LodestoneBase
import LodestoneModel

extension Collective {
    /// Rank `root`'s bytes (any length, its length sent first) on every rank; the other ranks' `data` is ignored.
    public func share(_ data: Data, root: Int = 0) throws -> Data {
        guard size > 1 else { return data }
        var length = Int64(rank == root ? data.count : 0)
        try broadcast(&length, count: 8, root: root)
        var bytes = rank == root ? [UInt8](data) : [UInt8](repeating: 0, count: Int(length))
        if length > 0 { try bytes.withUnsafeMutableBytes { try broadcast($0.baseAddress!, count: $0.count, root: root) } }
        return Data(bytes)
    }

    /// Rank `root`'s trainable state into every rank's (the arrays in place, and the optimizer step).
    func share(_ model: inout TrainingStateView, root: Int = 0) throws {
        guard size > 1 else { return }
        for array in model.arrays where !array.isEmpty { try broadcast(array.baseAddress!, count: array.count * 4, root: root) }
        var step = Int64(model.optimizerStep)
        try broadcast(&step, count: 8, root: root)
        model.optimizerStep = Int(step)
    }
}

extension Checkpointer {
    /// `latestState()` of rank 0's checkpointer, on every rank (the others pass nil and read nothing).
    public static func sharedLatestState(_ checkpointer: Checkpointer?, collective: Collective) throws -> CheckpointState? {
        let rootState = collective.isRoot ? try checkpointer?.latestState()?.state : nil
        let json = try collective.share(rootState.map { try JSONEncoder().encode($0) } ?? Data())
        return json.isEmpty ? nil : try JSONDecoder().decode(CheckpointState.self, from: json)
    }

    /// `loadLatest(into:)` of rank 0's checkpointer, on every rank: the state, and all three arrays straight into
    /// each rank's model. Every rank checks the size from the shared JSON, so a mismatch stops them all alike.
    static func sharedLoadLatest(_ checkpointer: Checkpointer?, into model: inout TrainingStateView,
                                 collective: Collective) throws -> CheckpointState? {
        guard collective.size > 1 else { return try checkpointer?.loadLatest(into: &model) }
        let latest = collective.isRoot ? try checkpointer?.latestState() : nil
        let json = try collective.share(latest.map { try JSONEncoder().encode($0.state) } ?? Data())
        guard !json.isEmpty else { return nil }
        let state = try JSONDecoder().decode(CheckpointState.self, from: json)
        guard state.parameterCount == model.count else {
            throw TrainingError.checkpoint(path: checkpointer?.location ?? "of rank 0", reason: "holds \(state.parameterCount) parameters, the model has \(model.count)")
        }
        if let checkpointer, let latest { try checkpointer.loadArrays(latest.name, state: latest.state, into: &model) }
        try collective.share(&model)
        return state
    }
}

/// Under mpirun, a time-based decision (a stalled step) cannot be taken by one rank alone: the others would go
/// on with the epoch. The rank that sees it ends the whole job instead; `--resume` continues from the last checkpoint.
public struct JobMustEnd: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "\(reason); ending the job (every rank): --resume continues from the last checkpoint" }
}

/// What every rank must start a run from identically: the trainable state, the hyperparameters, the data files
/// and the sampler's position. Hosts with another model directory, other flags or other data would otherwise
/// train apart without a word; each part is compared with rank 0's, and the first that differs is named.
struct RankStart: Codable, Equatable {
    var stateChecksum: UInt64
    var config: TrainingConfig
    var files: [DataFile]
    var sampler: SamplerState

    /// Throws on a rank whose start differs from rank 0's (that rank then ends the job).
    func checkAgainstRoot(_ collective: Collective) throws {
        guard collective.size > 1 else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let root = try JSONDecoder().decode(RankStart.self, from: try collective.share(try encoder.encode(self)))
        let differs = [(root.stateChecksum != stateChecksum, "model weights (--model)"), (root.config != config, "hyperparameters"),
                       (root.files != files, "data files (data_records.json)"), (root.sampler != sampler, "sampler position")]
            .first { $0.0 }?.1
        if let differs {
            throw RanksDisagree(what: differs)
        }
    }
}

/// A rank whose start differs from rank 0's.
public struct RanksDisagree: Error, CustomStringConvertible {
    public let what: String
    public var description: String {
        "starts from other \(what) than rank 0: every rank needs the same model directory, flags and data"
    }
}
