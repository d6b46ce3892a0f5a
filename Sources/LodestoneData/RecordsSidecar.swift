import Foundation
import LodestoneBase
import LodestoneStorage

/// The sidecar beside `data_records.json`: per key the object's size and ETag/mtime when counted, its format and
/// line statistics. A rerun recounts only objects whose size or ETag changed.
public struct RecordsSidecar: Codable, Equatable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public var size: Int64
        public var etag: String?
        public var format: String
        public var records: Int
        public var lines: Int
        public var blankLines: Int
        public var malformedLines: Int
        public var malformedSamples: [MalformedLine]?
    }

    public static let currentVersion = 1
    public static let storeKey = "data_records.sidecar.json"

    public var version = RecordsSidecar.currentVersion
    public var entries: [String: Entry] = [:]

    public init() {}

    /// The sidecar file for a given `data_records.json` path: `…/data_records.sidecar.json`.
    public static func file(for output: URL) -> URL {
        let name = output.deletingPathExtension().lastPathComponent + ".sidecar.json"
        return output.deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Loads the sidecar from `file`, else from the store; nil when there is none or it is from another
    /// version (then everything is recounted). Unreadable sidecars are reported through `warn`, never fatal.
    public static func load(file: URL, store: ObjectStore, warn: (String) -> Void) -> RecordsSidecar? {
        var data: Data? = try? Data(contentsOf: file)
        var name = file.path
        if data == nil, (try? store.head(key: storeKey)) != nil {
            data = try? store.getData(key: storeKey)
            name = "\(store)/\(storeKey)"
        }
        guard let data else { return nil }
        do {
            let sidecar = try JSONDecoder().decode(RecordsSidecar.self, from: data)
            guard sidecar.version == currentVersion else {
                warn("\(name): sidecar version \(sidecar.version), expected \(currentVersion): recounting everything")
                return nil
            }
            return sidecar
        } catch {
            warn("\(name): unreadable sidecar (\(error)): recounting everything")
            return nil
        }
    }

    public func save(file: URL, store: ObjectStore) throws {
        let data = try encoded()
        try AtomicFile.write(data, to: file)
        try store.putData(key: Self.storeKey, data)
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// The entry still valid for `info` (same size and ETag/mtime), if any.
    public func reusable(_ info: ObjectInfo) -> Entry? {
        guard let entry = entries[DataRecords.relativeKey(info.key)], entry.size == info.size,
              let etag = entry.etag, etag == info.etag else { return nil }
        return entry
    }

    public mutating func record(_ count: RecordCount, info: ObjectInfo) {
        entries[DataRecords.relativeKey(info.key)] = Entry(
            size: info.size, etag: info.etag, format: count.format, records: count.records, lines: count.lines,
            blankLines: count.blankLines, malformedLines: count.malformedLines,
            malformedSamples: count.malformedSamples.isEmpty ? nil : count.malformedSamples)
    }
}
