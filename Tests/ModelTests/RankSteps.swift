// One training step run by several ranks at once, each on its own thread and trainer (as mpirun runs processes),
// meeting through a ThreadCollectiveGroup: what the tests of a step's distributed strategy compare against the
// single-process step.
import Foundation
import XCTest
@testable import LodestoneCore

/// Each rank's loss and gradients after `computeGradients`, in rank order. `trainer(rank)` builds rank `rank`'s
/// trainer (its collective is set here). One thread per rank (not concurrentPerform, whose pool may be smaller than
/// the ranks that must meet).
func stepOnRanks(_ ranks: Int, columns: [[[Int32]]], dropoutSeed: UInt64,
                 trainer: @escaping (Int) throws -> EncoderTrainer) throws -> [(result: LodestoneModel.StepResult, gradients: [Float])] {
    let group = ThreadCollectiveGroup(size: ranks)
    final class Results: @unchecked Sendable { var byRank: [Result<(LodestoneModel.StepResult, [Float]), Error>?] = [] }
    let box = Results()
    box.byRank = Array(repeating: nil, count: ranks)
    let lock = NSLock(), done = DispatchGroup()
    for rank in 0..<ranks {
        done.enter()
        Thread {
            let outcome = Result { () throws -> (LodestoneModel.StepResult, [Float]) in
                let t = try trainer(rank)
                t.collective = group.member(rank)
                let r = try t.computeGradients(columns: columns, dropoutSeed: dropoutSeed)
                return (r, Array(UnsafeBufferPointer(start: t.gradients, count: t.parameterCount)))
            }
            lock.lock(); box.byRank[rank] = outcome; lock.unlock()
            done.leave()
        }.start()
    }
    XCTAssertEqual(done.wait(timeout: .now() + 60), .success, "ranks finished")
    return try box.byRank.map { try XCTUnwrap($0).get() }
}
