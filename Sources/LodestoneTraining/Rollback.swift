// Where a failed epoch goes back to, kept on disk instead of in memory: a copy of parameters and both AdamW
// moments would cost 12 bytes per parameter for the whole run (1.6 GB for MosaicBERT-base), for a rollback
// that rarely happens. The target is rank 0's newest checkpoint, or before the first one the run's start, which
// rank 0 writes to an unlinked scratch file as the run begins. Rank 0 reads the target straight into its model
// and broadcasts the bytes, so every rank rolls back to the same state and only rank 0 needs the files (its
// checkpoint store may be a local directory the other hosts cannot see).
import Foundation
import LodestoneBase
import LodestoneModel

final class RollbackPoint {
    private let checkpointer: Checkpointer?
    private let collective: Collective
    /// Rank 0's local directory for the scratch file (the output directory).
    private let scratchDirectory: URL
    /// Whether the newest checkpoint, rather than the run's start, is the target.
    private(set) var atCheckpoint = false
    /// Rank 0's copy on disk of the start (or, without a checkpointer, of the last checkpoint's state).
    private var scratch: StateFile?

    init(checkpointer: Checkpointer?, collective: Collective, scratchDirectory: URL) {
        self.checkpointer = checkpointer; self.collective = collective; self.scratchDirectory = scratchDirectory
    }

    /// A resumed checkpoint is the target from the start.
    func resumed() { atCheckpoint = true }

    /// Before the first step: without a resumed checkpoint, rank 0 puts the start state on disk.
    func begin(_ model: TrainableEncoder) throws {
        guard !atCheckpoint, collective.isRoot else { return }
        try keep(model)
    }

    /// After a checkpoint (on rank 0, once it is written): it is the target now. The scratch file is dropped,
    /// unless there is no checkpointer to read back from (a library run without checkpoints): then it holds the
    /// state instead; `changed` false (the model was just rolled back) leaves it as it is.
    func checkpointed(_ model: TrainableEncoder, changed: Bool) throws {
        atCheckpoint = true
        guard collective.isRoot else { return }
        if checkpointer != nil { scratch = nil } else if changed || scratch == nil { try keep(model) }
    }

    /// Puts the target back into every rank's model: parameters, both moments and the optimizer step.
    func restore(_ model: TrainableEncoder) throws {
        try model.withTrainingState { view in
            if collective.isRoot {
                if atCheckpoint, let checkpointer {
                    guard try checkpointer.loadLatest(into: &view) != nil else {
                        throw TrainingError.checkpoint(path: checkpointer.location, reason: "gone: no checkpoint to roll back to")
                    }
                } else {
                    guard let scratch else { throw TrainingError.checkpoint(path: scratchDirectory.path, reason: "no state to roll back to") }
                    try scratch.read(into: &view)
                }
            }
            try collective.share(&view)
        }
    }

    private func keep(_ model: TrainableEncoder) throws {
        if scratch == nil { scratch = try StateFile(directory: scratchDirectory) }
        let file = scratch!
        try model.withTrainingState { try file.write($0) }
    }
}

/// One trainable state in a file that is unlinked as soon as it is created: only this process can reach it, and
/// a killed run leaves nothing behind. Written and read back with pwrite/pread, straight from and into the model.
final class StateFile {
    private let fd: Int32
    private let path: String
    private var count = 0, optimizerStep = 0
    private var checksum: UInt64 = 0

    init(directory: URL) throws {
        path = directory.appendingPathComponent(".rollback.\(getpid()).\(UInt32.random(in: 0 ... .max))").path
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileSystemError.last(path: path, action: "cannot create") }
        unlink(path)
    }

    deinit { close(fd) }

    func write(_ model: TrainingStateView) throws {
        count = 0   // a failed write leaves nothing to read back
        var offset = 0
        for array in model.arrays {
            let bytes = UnsafeRawBufferPointer(array)
            var done = 0
            while done < bytes.count {
                let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                if n < 0, errno == EINTR { continue }
                if n <= 0 { throw FileSystemError.last(path: path, action: "cannot write") }
                done += n
            }
            offset += bytes.count
        }
        count = model.count; optimizerStep = model.optimizerStep
        checksum = Checkpointer.checksum(model)
    }

    func read(into model: inout TrainingStateView) throws {
        guard count > 0, count == model.count else {
            throw TrainingError.checkpoint(path: path, reason: "holds \(count) parameters, the model has \(model.count)")
        }
        var offset = 0
        for array in model.arrays {
            let bytes = UnsafeMutableRawBufferPointer(array)
            var done = 0
            while done < bytes.count {
                let n = pread(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                if n < 0, errno == EINTR { continue }
                if n < 0 { throw FileSystemError.last(path: path, action: "cannot read") }
                if n == 0 { throw TrainingError.checkpoint(path: path, reason: "truncated at byte \(offset + done)") }
                done += n
            }
            offset += bytes.count
        }
        guard Checkpointer.checksum(model) == checksum else {
            throw TrainingError.checkpoint(path: path, reason: "checksum mismatch: the scratch file is damaged")
        }
        model.optimizerStep = optimizerStep
    }
}
