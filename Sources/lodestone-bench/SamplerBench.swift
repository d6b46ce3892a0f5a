// lodestone-bench --sampler-only DIR: the training sampler at the original's scale. DIR holds a store of many
// small real gzip JSON-lines files under data/ and a data_records.json that claims the original's 1.49 billion
// records in proportion over them, so each file is read round and round and a chunk (records // 50) is about
// 30 million examples. Peak RSS and times of loading a chunk and drawing batches, finishing it (passing over
// the rest of every file's share), and restoring mid-chunk. With --sampler-eager-claim N, the same chunk is
// loaded the way the sampler did before it streamed (every share read into memory) at N claimed records, for
// the contrast. Run by Scripts/bench-sampler.sh.
import Foundation
import LodestoneCore

/// The original's data_records.json: 677 files, 1,492,089,113 records (shared/reference/LODESTONE.md).
let originalFileCount = 677
let originalRecords = 1_492_089_113

func runSamplerBench(directory: String, eagerClaim: Double?) throws {
    let root = URL(fileURLWithPath: directory)
    let store = try LocalStore(root: root)
    if try store.head(key: DataRecords.storeKey) == nil {
        try writeBenchStore(store)
        print("bench store written in \(directory); run again to measure (peak RSS counts the whole process)")
        return
    }
    var files = try loadDataFiles(store: store, recordsFile: nil)
    let claimed = files.reduce(0) { $0 + $1.records }
    let (chunks, batchSize, batches) = (50, 16, 1000)
    let fullQuota = files.reduce(0) { $0 + max(1, $1.records / chunks) }
    let open = storeExampleOpener(store: store)
    let baseline = peakRSSBytes()   // the process before any sampler

    if let eagerClaim {
        // The sampler before streaming: loadChunk read every file's next quota examples into memory.
        files = files.map { DataFile(key: $0.key, records: Int(Double($0.records) * eagerClaim / Double(claimed))) }
            .filter { $0.records > 0 }
        let quotas = files.map { max(1, $0.records / chunks) }
        let quota = quotas.reduce(0, +)
        let readers = files.map { EndlessExampleReader(key: $0.key, maxWords: 2048, open: open) }
        let (pools, seconds) = try timed { try zip(readers, quotas).map { reader, q in try (0..<q).map { _ in try reader.next() } } }
        let (_, drawSeconds) = timed { drawEagerBatches(pools: pools, weights: files.map { Double($0.records) }, count: batches, size: batchSize) }
        print(String(format: "eager sampler (before streaming: every share read into memory; reproduced here), %.3g claimed records, chunk quota %d examples: chunk loaded in %.2f s, %d batches in %.2f s, peak RSS %.0f MB (%.0f MB before loading)",
                     eagerClaim, quota, seconds, batches, drawSeconds, mb(peakRSSBytes()), mb(baseline)))
        withExtendedLifetime(pools) {}
        return
    }

    func makeSampler() throws -> LodestoneSampler {
        try LodestoneSampler(files: files, chunks: chunks, batchSize: batchSize, maxWords: 2048, seed: 42, open: open)
    }
    let sampler = try makeSampler()
    let (_, drawSeconds) = try timed {
        try sampler.loadChunk()
        for _ in 0..<batches { _ = try sampler.nextBatch() }
    }
    print(String(format: "sampler (%.3g claimed records, %d files, chunk quota %d examples): %d batches in %.2f s, peak RSS %.0f MB (target < 1 GB; %.0f MB before the sampler)",
                 Double(claimed), files.count, fullQuota, batches, drawSeconds, mb(peakRSSBytes()), mb(baseline)))

    // A checkpoint's state restored in a fresh sampler: every reader reopens at the chunk's start and passes
    // over what it had read; the next batch must be the one the running sampler draws.
    let state = sampler.state
    let (same, restoreSeconds) = try { () throws -> (Bool, Double) in   // the fresh sampler is gone before the finish
        let (resumed, seconds) = try timed { () -> LodestoneSampler in
            let fresh = try makeSampler()
            try fresh.restore(state)
            return fresh
        }
        return (try resumed.nextBatch().examples.map(\.texts) == sampler.nextBatch().examples.map(\.texts), seconds)
    }()

    sampler.finishChunk()
    let (_, finishSeconds) = try timed { try sampler.loadChunk() }
    let (_, nextSeconds) = try timed { for _ in 0..<batches { _ = try sampler.nextBatch() } }
    print(String(format: "sampler finishing the chunk (passing the rest of %d examples' quotas, done by the next loadChunk): %.2f s; restore mid-chunk: %.2f s (next batch identical: %@); next chunk's %d batches in %.2f s; peak RSS %.0f MB",
                 fullQuota, finishSeconds, restoreSeconds, same ? "yes" : "NO", batches, nextSeconds, mb(peakRSSBytes())))
}

/// The eager sampler's nextBatch over in-memory shares (the same draw, dedup and swap as LodestoneSampler).
func drawEagerBatches(pools: [[TrainingExample]], weights: [Double], count: Int, size: Int) {
    var generator = SeededGenerator(seed: 42)
    var cursors = [Int](repeating: 0, count: pools.count)
    var drawn = 0
    for _ in 0..<count {
        let f = generator.pick(weights: weights)
        var seen = Set<String>(), batch: [TrainingExample] = [], scanned = 0
        while batch.count < size && scanned < pools[f].count {
            var example = pools[f][cursors[f]]
            cursors[f] = (cursors[f] + 1) % pools[f].count
            scanned += 1
            let keys = example.texts.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
            if keys.contains(where: seen.contains) { continue }
            seen.formUnion(keys)
            if generator.nextUnit() < 0.5 { example.texts.swapAt(0, 1) }
            batch.append(example)
        }
        drawn += batch.count
    }
    precondition(drawn > 0)
}

/// 677 gzip files of 100 to 1,000 lines in four record formats, and a data_records.json claiming the original's
/// total in proportion to uneven weights (the remainder on the first file, so the total is exact).
func writeBenchStore(_ store: LocalStore) throws {
    var rng = SplitMix64(seed: 2024)
    let syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "gra", "den", "tor", "ul", "ex", "bri", "sa"]
    let words = (0..<3000).map { _ in (0..<(2 + Int(rng.next() % 3))).map { _ in syllables[Int(rng.next() % 16)] }.joined() }
    func text(_ minWords: Int, _ maxWords: Int) -> String {
        (0..<(minWords + Int(rng.next() % UInt64(maxWords - minWords + 1)))).map { _ in words[Int(rng.next() % 3000)] }.joined(separator: " ")
    }
    var weights: [String: Double] = [:]
    for i in 0..<originalFileCount {
        let name = String(format: "bench/file-%03d.json.gz", i)
        let lines = (0..<(100 + (i * 37) % 901)).map { _ -> String in
            switch i % 4 {
            case 0: return "[\"\(text(4, 16))\", \"\(text(10, 60))\"]"
            case 1: return "{\"query\": \"\(text(4, 12))\", \"pos\": [\"\(text(10, 40))\", \"\(text(10, 40))\"]}"
            case 2: return "{\"texts\": [\"\(text(4, 16))\", \"\(text(20, 80))\"], \"guid\": \"g\(i)\"}"
            default: return "{\"title\": \"\(text(4, 12))\", \"body\": \"\(text(20, 120))\", \"subreddit\": \"s\"}"
            }
        }
        try store.writeGzipLines(key: DataRecords.dataPrefix + name, lines)
        weights[name] = Double((i * 7919) % 1000 + 1)
    }
    let total = weights.values.reduce(0, +)
    var counts = weights.mapValues { Int(Double(originalRecords) * $0 / total) }
    counts["bench/file-000.json.gz"]! += originalRecords - counts.values.reduce(0, +)
    try store.putData(key: DataRecords.storeKey, DataRecords.encode(counts))   // last: its presence means complete
}

func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let value = try body()
    return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

/// Peak resident set size of this process so far (ru_maxrss is in KiB on Linux).
func peakRSSBytes() -> Int64 {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int64(usage.ru_maxrss) * 1024
}

func mb(_ bytes: Int64) -> Double { Double(bytes) / 1e6 }
