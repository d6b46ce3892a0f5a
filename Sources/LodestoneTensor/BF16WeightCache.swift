// bf16 copies of weight matrices, packed as the kernel's B operand once and reused by every product until the
// weights change: a training step packs each weight once (per form) after AdamW has moved it, an encoding run
// once per model load, instead of at every GEMM call. The owner calls `invalidate()` whenever the fp32
// weights may have changed; the next use of each weight repacks it (into the same memory).
import CBF16GEMM
import Dispatch
import Foundation

public final class BF16WeightCache: @unchecked Sendable {
    /// One packed form of one weight: its address, the product's K and N, and whether op(B) is Wᵀ.
    private struct Key: Hashable {
        let address: UInt, k: Int, n: Int, transposed: Bool
    }

    private final class Entry {
        let storage: UnsafeMutableRawPointer
        var generation: Int
        init(bytes: Int, generation: Int) {
            storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
            self.generation = generation
        }
        deinit { storage.deallocate() }
    }

    private var entries: [Key: Entry] = [:]
    /// Bumped by `invalidate()`: an entry packed under an older generation is stale.
    private var generation = 0
    private let lock = NSLock()
    /// How many packings ran (for tests: a weight used twice between invalidations is packed once).
    public private(set) var packCount = 0

    public init() {}

    /// Marks every packed copy stale (the fp32 weights changed). Must not run while a product uses the cache.
    public func invalidate() { lock.withLock { generation &+= 1 } }

    /// op(B) of a product whose B is the weight `w`: W itself ([k, n] row-major, transposed false) or Wᵀ
    /// (W is [n, k], transposed true), packed by `bf16_gemm_pack_b`; packed now unless a copy of this
    /// generation exists. Only called where the CPU has the bf16 kernel.
    public func packed(_ w: UnsafePointer<Float>, transposed: Bool, k: Int, n: Int) -> UnsafePointer<UInt32> {
        lock.lock()
        defer { lock.unlock() }
        let key = Key(address: UInt(bitPattern: w), k: k, n: n, transposed: transposed)
        let entry: Entry
        if let existing = entries[key] {
            if existing.generation == generation { return UnsafePointer(existing.storage.assumingMemoryBound(to: UInt32.self)) }
            entry = existing
        } else {
            entry = Entry(bytes: bf16_gemm_packed_b_bytes(Int32(k), Int32(n)), generation: generation)
            entries[key] = entry
        }
        let out = entry.storage.assumingMemoryBound(to: UInt32.self)
        let panels = (n + Int(BF16_GEMM_NR) - 1) / Int(BF16_GEMM_NR)
        // Split only a large weight: packing a small one takes microseconds, less than a fork and join.
        let threads = n * k >= 1 << 18 ? max(1, min(blasThreads(), panels)) : 1
        let ld = Int32(transposed ? k : n), K = Int32(k), N = Int32(n), t: Int32 = transposed ? 1 : 0
        let pack: (Int) -> Void = { part in
            let (b0, b1) = panelRange(panels, part: part, threads: threads)
            bf16_gemm_pack_b(w, ld, t, K, N, b0, b1, out)
        }
        if threads == 1 { pack(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: pack) }
        entry.generation = generation
        packCount += 1
        return UnsafePointer(out)
    }
}
