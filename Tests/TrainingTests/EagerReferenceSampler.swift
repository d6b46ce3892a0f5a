import Foundation
@testable import LodestoneCore

// REFERENCE ONLY. The sampler and reader as they were before the sampler streamed (main at 2194300): each chunk
// read whole into memory, the reader decoding every line. Kept unchanged in the test target so that the
// streaming LodestoneSampler can be checked batch for batch against it; not used by any product.

/// Today's-before-streaming EndlessExampleReader: reads every example, reopening the file at its end.
final class EagerReferenceReader {
    let key: String
    private(set) var position: ReaderPosition
    private let maxWords: Int
    private let open: ExampleFileOpener
    private var source: ExampleLineSource?
    private var line: [TrainingExample] = []
    private var examplesThisPass = 0

    init(key: String, maxWords: Int, open: @escaping ExampleFileOpener) {
        self.key = key; self.maxWords = maxWords; self.position = ReaderPosition(); self.open = open
    }

    func seek(to position: ReaderPosition) {
        source?.close(); source = nil
        self.position = position
    }

    func next() throws -> TrainingExample {
        if source == nil { try reopenAtPosition() }
        while position.usedOfLine >= line.count {
            guard let examples = try source!.nextLine() else {
                if examplesThisPass == 0 {
                    throw TrainingError.data(key: key, line: position.lines, reason: "file holds no training examples")
                }
                source?.close(); source = try open(key)
                position = ReaderPosition(pass: position.pass + 1)
                line = []; examplesThisPass = 0
                continue
            }
            line = examples.compactMap(prepare)
            position.lines += 1
            position.usedOfLine = 0
        }
        let example = line[position.usedOfLine]
        position.usedOfLine += 1
        examplesThisPass += 1
        return example
    }

    private func reopenAtPosition() throws {
        let target = position
        source = try open(key)
        line = []
        for lineNumber in 0..<target.lines {
            guard let examples = try source!.nextLine() else {
                throw TrainingError.data(key: key, line: lineNumber, reason: "resume position lies past the end of the file")
            }
            if lineNumber == target.lines - 1 { line = examples.compactMap(prepare) }
        }
        examplesThisPass = target.lines > 0 ? 1 : 0
    }

    private func prepare(_ example: TrainingExample) -> TrainingExample? {
        guard example.texts.count >= 2 else { return nil }
        return TrainingExample(texts: example.texts.map { truncateWords($0, to: maxWords) })
    }
}

/// The state the eager sampler saved in checkpoints (its JSON is what older checkpoints hold).
struct EagerReferenceState: Codable {
    var chunkStart: [ReaderPosition]
    var readers: [ReaderPosition]
    var cursors: [Int]
    var chunkLoaded: Bool
    var generator: SeededGenerator
}

/// Today's-before-streaming LodestoneSampler: `loadChunk` reads every file's whole share into `pools`.
final class EagerReferenceSampler {
    let files: [DataFile]
    let chunks: Int
    let batchSize: Int
    private let readers: [EagerReferenceReader]
    private var pools: [[TrainingExample]]
    private var cursors: [Int]
    private var chunkStart: [ReaderPosition]
    private var chunkLoaded = false
    private var generator: SeededGenerator
    private let weights: [Double]

    init(files: [DataFile], chunks: Int, batchSize: Int, maxWords: Int, seed: UInt64, open: @escaping ExampleFileOpener) {
        self.files = files.filter { $0.records > 0 }
        self.chunks = chunks; self.batchSize = batchSize
        readers = self.files.map { EagerReferenceReader(key: $0.key, maxWords: maxWords, open: open) }
        pools = Array(repeating: [], count: self.files.count)
        cursors = Array(repeating: 0, count: self.files.count)
        chunkStart = Array(repeating: ReaderPosition(), count: self.files.count)
        generator = SeededGenerator(seed: seed)
        weights = self.files.map { Double($0.records) }
    }

    func quota(_ file: DataFile) -> Int { max(1, file.records / chunks) }

    func loadChunk() throws {
        chunkStart = readers.map(\.position)
        for (i, reader) in readers.enumerated() {
            pools[i] = try (0..<quota(files[i])).map { _ in try reader.next() }
            cursors[i] = 0
        }
        chunkLoaded = true
    }

    func finishChunk() {
        chunkLoaded = false
        pools = Array(repeating: [], count: files.count)
    }

    func nextBatch() -> (file: Int, examples: [TrainingExample]) {
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

    var state: EagerReferenceState {
        EagerReferenceState(chunkStart: chunkStart, readers: readers.map(\.position), cursors: cursors,
                            chunkLoaded: chunkLoaded, generator: generator)
    }
}
