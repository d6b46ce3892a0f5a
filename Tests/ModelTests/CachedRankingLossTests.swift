// Cached MNRL (GradCache): however a step's batch is split into passes, and however many ranks share it, the
// loss and the gradients are the one-pass step's, dropout included; the planner keeps passes in the budget.
import Foundation
import XCTest
@testable import LodestoneCore

final class CachedRankingLossTests: XCTestCase {
    /// Anchors, positives and a hard negative of uneven lengths.
    let columns: [[[Int32]]] = [
        [[1, 5, 9, 2], [1, 7, 2], [1, 4, 4, 6, 8, 9, 2]],
        [[1, 3, 3, 8, 2], [1, 6, 2], [1, 10, 2]],
        [[1, 4, 2], [1, 9, 9, 9, 5, 2], [1, 11, 3, 2]],
    ]

    func config(mosaic: Bool) -> EncoderConfig {
        EncoderConfig(mosaic: mosaic, hidden: 6, layers: 2, heads: 3, intermediate: 5, vocabSize: 12,
                      maxPositionEmbeddings: 8, alibiStartingSize: 2, initializerRange: 0.5)
    }

    func trainer(mosaic: Bool, dropout: DropoutRates, textsPerPass: Int?) -> EncoderTrainer {
        let t = EncoderTrainer(encoder: SentenceEncoder(config: config(mosaic: mosaic), randomSeed: 11),
                               loss: MultipleNegativesRankingLoss(scale: 20, symmetric: true), dropout: dropout)
        t.batching = MiniBatching(maxTexts: textsPerPass)
        return t
    }

    func gradients(_ t: EncoderTrainer) -> [Float] { Array(UnsafeBufferPointer(start: t.gradients, count: t.parameterCount)) }

    func assertSame(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        // Summation order differs between splits: compare against the gradient's own scale.
        let scale = b.map(abs).max() ?? 0
        var worst: Float = 0
        for (x, y) in zip(a, b) { worst = max(worst, abs(x - y)) }
        XCTAssertLessThan(worst, 1e-5 * scale, "\(what): max difference \(worst), largest gradient \(scale)", file: file, line: line)
    }

    func testEveryPassSizeGivesTheOnePassLossAndGradientsWithDropout() throws {
        for mosaic in [true, false] {
            let rates = DropoutRates(hidden: 0.2, attention: 0.25)
            let one = trainer(mosaic: mosaic, dropout: rates, textsPerPass: nil)
            let reference = try one.computeGradients(columns: columns, dropoutSeed: 77)
            XCTAssertEqual(one.lastStepPasses.embedding, 0, "a batch that fits takes no extra forward pass")
            XCTAssertEqual(one.lastStepPasses.training, 1)
            let expected = gradients(one)
            for size in [1, 2, 4] {
                let t = trainer(mosaic: mosaic, dropout: rates, textsPerPass: size)
                let r = try t.computeGradients(columns: columns, dropoutSeed: 77)
                let what = "\(mosaic ? "mosaic" : "bert"), \(size) text(s) per pass"
                XCTAssertEqual(t.lastStepPasses.training, (9 + size - 1) / size, what)
                XCTAssertEqual(t.lastStepPasses.embedding, 1, "\(what): one embedding pass (no budget)")
                XCTAssertEqual(r.loss, reference.loss, accuracy: 1e-5 * max(1, abs(reference.loss)), what)
                XCTAssertEqual(r.gradNorm, reference.gradNorm, accuracy: 1e-4 * reference.gradNorm, what)
                assertSame(gradients(t), expected, what)
            }
            // Different masks would change the step: the split must not be a way of drawing other masks.
            let other = try trainer(mosaic: mosaic, dropout: rates, textsPerPass: 2).computeGradients(columns: columns, dropoutSeed: 78)
            XCTAssertNotEqual(other.loss, reference.loss)
        }
    }

    func testRanksSharingAStepEndWithTheSingleProcessGradients() throws {
        for mosaic in [true, false] {
            let rates = DropoutRates(hidden: 0.1, attention: 0.1)
            let single = trainer(mosaic: mosaic, dropout: rates, textsPerPass: nil)
            let reference = try single.computeGradients(columns: columns, dropoutSeed: 5)
            for ranks in [2, 3] {
                let byRank = try stepOnRanks(ranks, columns: columns, dropoutSeed: 5) { rank in
                    self.trainer(mosaic: mosaic, dropout: rates, textsPerPass: rank == 0 ? 1 : nil)
                }
                for (rank, (r, g)) in byRank.enumerated() {
                    let what = "\(mosaic ? "mosaic" : "bert"), rank \(rank) of \(ranks)"
                    XCTAssertEqual(r.loss, reference.loss, accuracy: 1e-5, what)
                    assertSame(g, gradients(single), what)
                }
                XCTAssertEqual(byRank[0].gradients, byRank[ranks - 1].gradients, "every rank holds the same summed gradients")
            }
        }
    }

    func testPassesStayWithinTheBudgetAndNeverRefuseALongText() {
        let c = EncoderConfig(mosaic: true, hidden: 64, layers: 2, heads: 4, intermediate: 128, vocabSize: 100,
                              maxPositionEmbeddings: 512, alibiStartingSize: 512, initializerRange: 0.02)
        var rng = SplitMix64(seed: 3)
        let lengths = (0..<40).map { _ in 1 + Int(rng.next() % 300) }
        let parameters = ParameterLayout(config: c).totalCount
        for extra in [3 << 20, 4 << 20, 6 << 20, 64 << 20] {
            let budget = MiniBatching.runtimeBytes + extra
            let plan = MemoryPlan(config: c, parameterCount: parameters, batching: MiniBatching(memoryBudget: budget),
                                  longest: lengths.max()!, rows: lengths.count, tokens: lengths.reduce(0, +),
                                  anchors: 20, columns: 2, loss: MultipleNegativesRankingLoss(), dropout: true)
            let passes = plan.miniBatches(lengths: lengths, range: 0..<lengths.count)
            for (kind, runs, training) in [("training", passes.training, true), ("embedding", passes.inference, false)] {
                XCTAssertEqual(runs.first?.lowerBound, 0); XCTAssertEqual(runs.last?.upperBound, lengths.count)
                for (a, b) in zip(runs, runs.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound, "contiguous") }
                for r in runs {
                    let ls = Array(lengths[r])
                    let bytes = Activations.footprint(config: c, tokens: ls.reduce(0, +), sequences: ls.count,
                                                      attentionScratch: attentionScratchCount(RaggedBatch(lengths: ls)),
                                                      training: training, dropoutMasks: true,
                                                      recomputeInBackward: plan.recomputeInBackward).bytes
                    if plan.fits {
                        XCTAssertLessThanOrEqual(plan.fixedBytes + plan.stepBytes + bytes, budget,
                                                 "\(kind) pass \(r) at budget \(budget)")
                    }
                }
            }
            if extra == 64 << 20 { XCTAssertEqual(passes.training.count, 1, "a roomy budget takes the batch in one pass") }
        }
        // Too small for even one text: the plan says so (the trainer refuses it before training); the split
        // still gives every text a pass of its own rather than failing mid-run.
        let tiny = MemoryPlan(config: c, parameterCount: parameters, batching: MiniBatching(memoryBudget: MiniBatching.runtimeBytes),
                              longest: 300, rows: 4, tokens: 1200, anchors: 2, columns: 2, loss: MultipleNegativesRankingLoss(), dropout: false)
        XCTAssertFalse(tiny.fits)
        XCTAssertEqual(tiny.miniBatches(lengths: [300, 300, 300, 300], range: 0..<4).training, [0..<1, 1..<2, 2..<3, 3..<4])
    }

    func testSplitHonoursTextAndTokenCaps() {
        XCTAssertEqual(MemoryPlan.split(lengths: [5, 5, 5, 5, 5], range: 0..<5, maxTokens: 10, maxTexts: nil), [0..<2, 2..<4, 4..<5])
        XCTAssertEqual(MemoryPlan.split(lengths: [5, 5, 5, 5, 5], range: 1..<5, maxTokens: 100, maxTexts: 3), [1..<4, 4..<5])
        XCTAssertEqual(MemoryPlan.split(lengths: [50, 2, 2], range: 0..<3, maxTokens: 10, maxTexts: nil), [0..<1, 1..<3])
        XCTAssertEqual(MemoryPlan.split(lengths: [1, 2], range: 2..<2, maxTokens: 10, maxTexts: nil), [])
    }

    func testRanksSplitRowsContiguouslyByTokens() {
        let lengths = [10, 10, 10, 10, 40, 10, 10]
        for size in 1...9 {
            let ranges = (0..<size).map { rankRows(lengths: lengths, rank: $0, size: size) }
            XCTAssertEqual(ranges.first?.lowerBound, 0); XCTAssertEqual(ranges.last?.upperBound, lengths.count)
            for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound, "size \(size)") }
        }
        XCTAssertEqual((0..<2).map { rankRows(lengths: lengths, rank: $0, size: 2) }, [0..<4, 4..<7])
    }
}

/// Ranks as threads of one process, meeting at a barrier for each collective: lets the data-parallel step be
/// tested without MPI (the MPI-backed Collective is tested under mpirun).
final class ThreadCollectiveGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var arrived = 0, generation = 0
    private var slots: [UnsafeRawPointer?]
    /// The slots of the last completed meeting: a rank that wakes late reads these, not slots a faster rank is
    /// already filling for the next meeting.
    private var published: [UnsafeRawPointer?] = []
    init(size: Int) { self.size = size; slots = Array(repeating: nil, count: size) }

    func member(_ rank: Int) -> Collective { Member(group: self, rank: rank) }

    /// Every rank posts a pointer; returns once all have (the pointers stay valid until the next `meet`).
    func meet(rank: Int, _ pointer: UnsafeRawPointer?) -> [UnsafeRawPointer?] {
        condition.lock(); defer { condition.unlock() }
        slots[rank] = pointer
        let g = generation
        arrived += 1
        if arrived == size { arrived = 0; published = slots; generation += 1; condition.broadcast() } else {
            while generation == g { condition.wait() }
        }
        return published
    }

    final class Member: Collective {
        let group: ThreadCollectiveGroup
        let rank: Int
        var size: Int { group.size }
        init(group: ThreadCollectiveGroup, rank: Int) { self.group = group; self.rank = rank }

        func allReduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) {
            let copy = Array(UnsafeBufferPointer(start: values, count: count))
            copy.withUnsafeBufferPointer { own in
                let all = group.meet(rank: rank, UnsafeRawPointer(own.baseAddress!))
                for i in 0..<count {   // rank order on every rank: identical bits
                    var s: Float = 0
                    for p in all { s += p!.assumingMemoryBound(to: Float.self)[i] }
                    values[i] = s
                }
                _ = group.meet(rank: rank, nil)
            }
        }
        func allGather(_ send: UnsafePointer<Float>, into receive: UnsafeMutablePointer<Float>, counts: [Int]) {
            let all = group.meet(rank: rank, UnsafeRawPointer(send))
            var offset = 0
            for (r, p) in all.enumerated() {
                (receive + offset).update(from: p!.assumingMemoryBound(to: Float.self), count: counts[r])
                offset += counts[r]
            }
            _ = group.meet(rank: rank, nil)
        }
        func broadcast(_ bytes: UnsafeMutableRawPointer, count: Int, root: Int) {
            let all = group.meet(rank: rank, UnsafeRawPointer(bytes))
            if rank != root { bytes.copyMemory(from: all[root]!, byteCount: count) }
            _ = group.meet(rank: rank, nil)
        }
        func barrier() { _ = group.meet(rank: rank, nil) }
        func abort(code: Int32) -> Never { fatalError("rank \(rank) aborted with \(code)") }
    }
}
