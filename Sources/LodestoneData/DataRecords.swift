import Foundation
import LodestoneBase
import LodestoneStorage

/// `data_records.json`: `{key relative to data/: count}`, keys sorted — the original's format, which the trainer
/// reads to weight each file. The counts come from `RecordParser`, so they equal what the trainer yields.
public enum DataRecords {
    /// Store key of the copy the trainer reads.
    public static let storeKey = "data_records.json"
    /// Store prefix under which the training files live.
    public static let dataPrefix = "data/"

    /// Parses a `data_records.json` (this project's or the original's: any JSON object of integer counts).
    public static func decode(_ data: Data, name: String) throws -> [String: Int] {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw InputError(file: name, reason: jsonSyntaxProblem(error, in: data))
        }
        guard let dict = object as? [String: Any] else {
            throw InputError(file: name, reason: "expected a JSON object {key: count}")
        }
        var counts: [String: Int] = [:]
        for (key, value) in dict {
            guard let number = value as? NSNumber, number.doubleValue == Double(number.int64Value), number.int64Value >= 0 else {
                throw InputError(file: name, field: key, reason: "count must be a non-negative integer")
            }
            counts[key] = number.intValue
        }
        return counts
    }

    /// Encodes counts as sorted-key JSON, one key per line (diffable, and readable by `json.load`).
    public static func encode(_ counts: [String: Int]) -> Data {
        let body = counts.keys.sorted().map { "    \(jsonString($0)): \(counts[$0]!)" }.joined(separator: ",\n")
        return Data((counts.isEmpty ? "{}\n" : "{\n\(body)\n}\n").utf8)
    }

    /// Reads the store's `data_records.json` (what the trainer does).
    public static func read(store: ObjectStore, key: String = storeKey) throws -> [String: Int] {
        try decode(try store.getData(key: key), name: "\(store)/\(key)")
    }

    /// Reads a local `data_records.json`; nil when the file does not exist.
    public static func read(file: URL) throws -> [String: Int]? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        return try decode(try readWholeFile(file.path), name: file.path)
    }

    /// The previous run's local file (ours or the original's), for reporting changes; an unreadable one is
    /// reported through `warn` and replaced.
    public static func readPrevious(file: URL, warn: (String) -> Void) -> [String: Int]? {
        do { return try read(file: file) } catch {
            warn("\(describe(error)); it will be replaced")
            return nil
        }
    }

    /// Writes the counts to `file` and to the store, each atomically (temporary name, then rename/commit).
    public static func write(_ counts: [String: Int], file: URL, store: ObjectStore) throws {
        let data = encode(counts)
        try AtomicFile.write(data, to: file)
        try store.putData(key: storeKey, data)
    }

    /// Keys added, removed or whose count changed between two versions of the file.
    public static func changedKeys(from old: [String: Int], to new: [String: Int]) -> Int {
        Set(old.keys).union(new.keys).filter { old[$0] != new[$0] }.count
    }

    /// The key relative to `data/` (the form data_records.json uses).
    public static func relativeKey(_ key: String) -> String {
        key.hasPrefix(dataPrefix) ? String(key.dropFirst(dataPrefix.count)) : key
    }

    /// Every training object under `data/`: `*.json.gz` or `*.jsonl.gz`, minus `exclude`
    /// (given relative to `data/`, or as full keys).
    public static func listTrainingObjects(store: ObjectStore, exclude: [String]) throws -> [ObjectInfo] {
        let excluded = Set(exclude.map(relativeKey))
        return try store.list(prefix: dataPrefix).filter { info in
            (info.key.hasSuffix(".json.gz") || info.key.hasSuffix(".jsonl.gz")) && !excluded.contains(relativeKey(info.key))
        }
    }

    static func jsonString(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
