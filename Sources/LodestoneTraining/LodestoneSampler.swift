import Foundation
import LodestoneData

/// One data file as the sampler sees it: its store key and its record count from `data_records.json`.
public struct DataFile: Codable, Equatable, Sendable {
    public var key: String
    public var records: Int
    public init(key: String, records: Int) { self.key = key; self.records = records }
}

/// Everything the sampler needs to continue exactly: reader positions where the current chunk's loading began
/// (the chunk is reloaded from there), where the readers stand now, each file's cursor into the chunk, the RNG.
public struct SamplerState: Codable, Equatable, Sendable {
    public var chunkStart: [ReaderPosition]
    public var readers: [ReaderPosition]
    public var cursors: [Int]
    public var chunkLoaded: Bool
    public var generator: SeededGenerator
}

/// Training.py's data pipeline. Per chunk, every file contributes its next max(1, records // chunks) examples;
/// each batch comes from one file, drawn with probability proportional to its records; a batch holds no text
/// twice (compared stripped and lower-cased); each example's first two texts swap with probability 0.5.
public final class LodestoneSampler {
    public let files: [DataFile]
    public let chunks: Int
    public let batchSize: Int
    private let readers: [EndlessExampleReader]
    private var pools: [[TrainingExample]]
    private var cursors: [Int]
    private var chunkStart: [ReaderPosition]
    private var chunkLoaded = false
    private var generator: SeededGenerator
    private let weights: [Double]

    /// Files with no records are left out (they could never be drawn).
    public init(files: [DataFile], chunks: Int, batchSize: Int, maxWords: Int, seed: UInt64,
                open: @escaping ExampleFileOpener) throws {
        self.files = files.filter { $0.records > 0 }
        guard !self.files.isEmpty else { throw TrainingError.noData("every file has 0 records") }
        self.chunks = chunks; self.batchSize = batchSize
        readers = self.files.map { EndlessExampleReader(key: $0.key, maxWords: maxWords, open: open) }
        pools = Array(repeating: [], count: self.files.count)
        cursors = Array(repeating: 0, count: self.files.count)
        chunkStart = Array(repeating: ReaderPosition(), count: self.files.count)
        generator = SeededGenerator(seed: seed)
        weights = self.files.map { Double($0.records) }
    }

    /// How many examples a file gives each chunk.
    public func quota(_ file: DataFile) -> Int { max(1, file.records / chunks) }

    /// Reads the next chunk: each file's next `quota` examples.
    public func loadChunk() throws {
        chunkStart = readers.map(\.position)
        for (i, reader) in readers.enumerated() {
            pools[i] = try (0..<quota(files[i])).map { _ in try reader.next() }
            cursors[i] = 0
        }
        chunkLoaded = true
    }

    /// Marks the chunk used up; the next `loadChunk` reads on from where the readers stand.
    public func finishChunk() {
        chunkLoaded = false
        pools = Array(repeating: [], count: files.count)
    }

    public var isChunkLoaded: Bool { chunkLoaded }

    /// The next batch: up to `batchSize` examples of one file, no text repeated. Fewer only when the file's
    /// chunk holds fewer distinct examples.
    public func nextBatch() -> (file: Int, examples: [TrainingExample]) {
        precondition(chunkLoaded, "loadChunk() before nextBatch()")
        let f = generator.pick(weights: weights)
        let pool = pools[f]
        var seen = Set<String>()
        var batch: [TrainingExample] = []
        var scanned = 0
        while batch.count < batchSize && scanned < pool.count {
            var example = pool[cursors[f]]
            cursors[f] = (cursors[f] + 1) % pool.count
            scanned += 1
            let keys = example.texts.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
            if keys.contains(where: seen.contains) { continue }
            seen.formUnion(keys)
            if generator.nextUnit() < 0.5 { example.texts.swapAt(0, 1) }
            batch.append(example)
        }
        return (f, batch)
    }

    public var state: SamplerState {
        SamplerState(chunkStart: chunkStart, readers: readers.map(\.position), cursors: cursors,
                     chunkLoaded: chunkLoaded, generator: generator)
    }

    /// Continues exactly where the sampler `state` was taken from stood (built from the same files and settings):
    /// the readers reopen at the chunk's start and reload it, then cursors and generator are set.
    public func restore(_ state: SamplerState) throws {
        guard state.readers.count == files.count, state.chunkStart.count == files.count, state.cursors.count == files.count else {
            throw TrainingError.checkpoint(path: "sampler", reason: "saved for \(state.readers.count) files, data_records.json now lists \(files.count) with records")
        }
        if state.chunkLoaded {
            for (reader, position) in zip(readers, state.chunkStart) { reader.seek(to: position) }
            try loadChunk()
            if let i = readers.indices.first(where: { readers[$0].position != state.readers[$0] }) {
                throw TrainingError.checkpoint(path: "sampler", reason: "\(files[i].key) reads differently than when the checkpoint was taken; was it changed?")
            }
            cursors = state.cursors
        } else {
            for (reader, position) in zip(readers, state.readers) { reader.seek(to: position) }
            finishChunk()
        }
        generator = state.generator
    }
}
