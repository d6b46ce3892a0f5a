import Foundation
import LodestoneData

/// One data file as the sampler sees it: its store key and its record count from `data_records.json`.
public struct DataFile: Codable, Equatable, Sendable {
    public var key: String
    public var records: Int
    public init(key: String, records: Int) { self.key = key; self.records = records }
}

/// Everything the sampler needs to continue exactly: where each file's share of the current chunk begins, where
/// the readers stand now and how many of their share's examples they have passed to get there, each file's
/// cursor into its share, the RNG.
///
/// `readInChunk` nil means the readers stand at the end of their shares: a checkpoint of the sampler that read
/// whole chunks into memory (`readers` were then always the shares' ends), or a chunk whose shares have been
/// passed. With `chunkLoaded` false and `readInChunk` given, the chunk is finished but the rest of the shares is
/// still to be passed over (the next `loadChunk` does it).
public struct SamplerState: Codable, Equatable, Sendable {
    public var chunkStart: [ReaderPosition]
    public var readers: [ReaderPosition]
    public var cursors: [Int]
    public var readInChunk: [Int]?
    public var chunkLoaded: Bool
    public var generator: SeededGenerator
}

/// Training.py's data pipeline. Per chunk, every file contributes its next max(1, records // chunks) examples
/// (its share); each batch comes from one file, drawn with probability proportional to its records, and takes
/// the share's examples from the file's cursor on, round the share; a batch holds no text twice (compared
/// stripped and lower-cased); each example's first two texts swap with probability 0.5.
///
/// The shares are streamed: a file is read only as far as its batches draw, and a cursor that wraps round its
/// share reopens the file at the share's start. Memory holds a batch and one line per file, whatever
/// `records // chunks` is. The batches are exactly those of reading each share into memory.
public final class LodestoneSampler {
    public let files: [DataFile]
    public let chunks: Int
    public let batchSize: Int
    private let readers: [EndlessExampleReader]
    private var chunkStart: [ReaderPosition]
    /// Each file's next example, as an index into its share.
    private var cursors: [Int]
    /// How many of its share's examples each reader has passed: it stands at chunkStart + readInChunk.
    private var readInChunk: [Int]
    private var phase = Phase.between
    private var generator: SeededGenerator
    private let weights: [Double]

    private enum Phase {
        /// The readers stand at the next chunk's start.
        case between
        case loaded
        /// Batches are done; the rest of each share is still to be passed over.
        case finished
    }

    /// Files with no records are left out (they could never be drawn).
    public init(files: [DataFile], chunks: Int, batchSize: Int, maxWords: Int, seed: UInt64,
                open: @escaping ExampleFileOpener) throws {
        self.files = files.filter { $0.records > 0 }
        guard !self.files.isEmpty else { throw TrainingError.noData("every file has 0 records") }
        self.chunks = chunks; self.batchSize = batchSize
        readers = self.files.map { EndlessExampleReader(key: $0.key, maxWords: maxWords, open: open) }
        cursors = Array(repeating: 0, count: self.files.count)
        readInChunk = cursors
        chunkStart = Array(repeating: ReaderPosition(), count: self.files.count)
        generator = SeededGenerator(seed: seed)
        weights = self.files.map { Double($0.records) }
    }

    /// How many examples a file gives each chunk.
    public func quota(_ file: DataFile) -> Int { max(1, file.records / chunks) }

    /// Starts the next chunk: each file's next `quota` examples. Nothing is read yet; the previous chunk's
    /// unread examples are passed over first (whole passes over a small file are counted, not read).
    public func loadChunk() throws {
        if phase != .between { try passRestOfShares() }
        chunkStart = readers.map(\.position)
        cursors = cursors.map { _ in 0 }
        readInChunk = cursors
        phase = .loaded
    }

    /// Marks the chunk used up; the next `loadChunk` reads on from the end of each file's share.
    public func finishChunk() {
        if phase == .loaded { phase = .finished }
    }

    public var isChunkLoaded: Bool { phase == .loaded }

    /// The next batch: up to `batchSize` examples of one file, no text repeated. Fewer only when the file's
    /// chunk holds fewer distinct examples.
    public func nextBatch() throws -> (file: Int, examples: [TrainingExample]) {
        precondition(phase == .loaded, "loadChunk() before nextBatch()")
        let f = generator.pick(weights: weights)
        let shareSize = quota(files[f])
        var seen = Set<String>()
        var batch: [TrainingExample] = []
        var scanned = 0
        while batch.count < batchSize && scanned < shareSize {
            var example = try shareExample(f, at: cursors[f])
            cursors[f] = (cursors[f] + 1) % shareSize
            scanned += 1
            let keys = example.texts.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
            if keys.contains(where: seen.contains) { continue }
            seen.formUnion(keys)
            if generator.nextUnit() < 0.5 { example.texts.swapAt(0, 1) }
            batch.append(example)
        }
        return (f, batch)
    }

    /// Example `index` of file `f`'s share: the reader goes back to the share's start when the cursor has
    /// wrapped round behind it, and skips forward when it is ahead (only after a restore).
    private func shareExample(_ f: Int, at index: Int) throws -> TrainingExample {
        if readInChunk[f] > index {
            readers[f].seek(to: chunkStart[f])
            readInChunk[f] = 0
        }
        try readers[f].skip(index - readInChunk[f])
        let example = try readers[f].next()
        readInChunk[f] = index + 1
        return example
    }

    /// Moves every reader to the end of its share, where the next chunk starts.
    private func passRestOfShares() throws {
        for f in readers.indices {
            try readers[f].skip(quota(files[f]) - readInChunk[f])
            readInChunk[f] = quota(files[f])
        }
        phase = .between
    }

    public var state: SamplerState {
        SamplerState(chunkStart: chunkStart, readers: readers.map(\.position), cursors: cursors,
                     readInChunk: phase == .between ? nil : readInChunk, chunkLoaded: phase == .loaded,
                     generator: generator)
    }

    /// Continues exactly where the sampler `state` was taken from stood (built from the same files and settings).
    /// Inside a chunk the readers reopen at the chunk's start and pass over what they had read, which checks
    /// that the files still read the same.
    public func restore(_ state: SamplerState) throws {
        let n = files.count
        guard state.readers.count == n, state.chunkStart.count == n, state.cursors.count == n, (state.readInChunk?.count ?? n) == n else {
            throw TrainingError.checkpoint(path: "sampler", reason: "saved for \(state.readers.count) files, data_records.json now lists \(n) with records")
        }
        if state.chunkLoaded || state.readInChunk != nil {
            let read = state.readInChunk ?? files.map(quota)
            for f in 0..<n {
                guard (0...quota(files[f])).contains(read[f]), (0..<quota(files[f])).contains(state.cursors[f]) else {
                    throw TrainingError.checkpoint(path: "sampler", reason: "\(files[f].key): position \(state.cursors[f]) (read \(read[f])) lies outside its chunk share of \(quota(files[f])) examples; was data_records.json or chunks changed?")
                }
                readers[f].seek(to: state.chunkStart[f])
                try readers[f].skip(read[f])
                if readers[f].position != state.readers[f] {
                    throw TrainingError.checkpoint(path: "sampler", reason: "\(files[f].key) reads differently than when the checkpoint was taken; was it changed?")
                }
            }
            chunkStart = state.chunkStart
            cursors = state.cursors
            readInChunk = read
            phase = state.chunkLoaded ? .loaded : .finished
        } else {
            for (reader, position) in zip(readers, state.readers) { reader.seek(to: position) }
            chunkStart = state.chunkStart
            phase = .between
        }
        generator = state.generator
    }
}
