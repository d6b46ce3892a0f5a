import Foundation
import LodestoneStorage
import LodestoneData

/// The training files and their weights: `data_records.json` from a local file when given and present,
/// else from the store. Keys there are relative to `data/`; the store keys are `data/<key>`.
public func loadDataFiles(store: ObjectStore, recordsFile: URL?) throws -> [DataFile] {
    let counts = try recordsFile.flatMap { try DataRecords.read(file: $0) } ?? DataRecords.read(store: store)
    guard !counts.isEmpty else { throw TrainingError.noData("data_records.json lists no files") }
    return counts.keys.sorted().map { DataFile(key: DataRecords.dataPrefix + $0, records: counts[$0]!) }
}

/// Opens data files in the store: gunzip on the fly (GzipLineReader) and the record parsing that 02 counts with
/// (RecordScanner), so a file yields exactly as many examples as data_records.json says. The sampler keeps one
/// reader open per file (677 in the original's data), so each gets a small window; a long line still grows it.
public func storeExampleOpener(store: ObjectStore) -> ExampleFileOpener {
    { key in
        GzipExampleSource(try GzipLineReader(try store.openReader(key: key), name: "\(store)/\(key)",
                                             windowSize: 1 << 16, inputSize: 1 << 14))
    }
}

/// One gzip JSON-lines object as lines of examples. Malformed lines yield nothing: 02 counted them apart.
final class GzipExampleSource: ExampleLineSource {
    private let reader: GzipLineReader
    private var scanner = RecordScanner()

    init(_ reader: GzipLineReader) { self.reader = reader }

    func nextLine() throws -> [TrainingExample]? {
        guard let line = try reader.nextLine() else { return nil }
        return (try? scanner.examples(line)) ?? []
    }

    /// Counts the line's examples with the scan 02 counts with (no text decoded); every record the scan counts
    /// has two or more texts, so the count is what `nextLine` would give.
    func nextLine(skippingAtMost limit: Int) throws -> LineOrSkip? {
        guard let line = try reader.nextLine() else { return nil }
        guard case .record(_, let count) = scanner.scan(line) else { return .skipped(examples: 0) }
        if count <= limit { return .skipped(examples: count) }
        return .read((try? scanner.examples(line)) ?? [])
    }

    func skipLine() throws -> Bool { try reader.nextLine() != nil }

    func close() { reader.close() }
}
