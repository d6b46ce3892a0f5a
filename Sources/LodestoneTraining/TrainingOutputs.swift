import Foundation
import LodestoneBase

/// What the trainer has written in its output directory, kept in `.04-training-outputs.json`: the log files by
/// name and the files of `model/`. A file there under one of those names that the manifest does not list (a
/// `train_logs.txt` kept from the original Training.py, someone's own model) is refused before any training,
/// never truncated or replaced. Names are claimed in the manifest before the file is created, so a kill in
/// between cannot make the trainer's own file look foreign.
public struct TrainingOutputs {
    public static let manifestName = ".04-training-outputs.json"
    /// The top-level files the trainer writes.
    public static let logNames = ["train_logs.txt", "loss.csv", "loss.svg", "eval.csv"]

    struct Manifest: Codable, Equatable {
        var files: [String] = []
        /// Paths inside `model/` (nil: no model written yet).
        var model: [String]?
        /// The step count (executed steps) of the model in `model/`, recorded once it is in place.
        var modelStep: Int?
    }

    public let directory: URL
    private var manifest: Manifest

    var manifestURL: URL { directory.appendingPathComponent(Self.manifestName) }
    var modelURL: URL { directory.appendingPathComponent("model") }

    /// Reads the manifest of `directory` (none: nothing written yet). An output written before manifests
    /// existed is recognised by its checkpoints (`checkpoints/` of ckpt-NNNNNN), which only the trainer writes:
    /// its files are adopted as the trainer's.
    public init(directory: URL) throws {
        self.directory = directory
        let url = directory.appendingPathComponent(Self.manifestName)
        if let data = try? Data(contentsOf: url) {
            do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
                throw InputError(file: url.path, reason: "unreadable list of the files 04-training wrote (\(describe(error))); move the directory's files away or choose another --output")
            }
        } else {
            manifest = Manifest()
            if Self.holdsCheckpoints(directory) {
                manifest.files = Self.logNames.filter { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
                if Directory.exists(modelURL.path) { manifest.model = Self.files(under: modelURL) }
            }
        }
    }

    /// Refuses the first file under the trainer's names that it did not write, naming it.
    public func checkOwned() throws {
        for name in Self.logNames where !manifest.files.contains(name) {
            let url = directory.appendingPathComponent(name)
            var st = stat()
            if lstat(url.path, &st) == 0 { throw Self.foreign(url) }
        }
        guard Directory.exists(modelURL.path) || FileManager.default.fileExists(atPath: modelURL.path) else { return }
        let known = Set(manifest.model ?? [])
        if let stranger = Self.files(under: modelURL).first(where: { !known.contains($0) }) {
            throw Self.foreign(modelURL.appendingPathComponent(stranger))
        }
        if !Directory.exists(modelURL.path) { throw Self.foreign(modelURL) }
    }

    /// Records that the trainer is about to write the log files `names`.
    public mutating func claim(_ names: [String]) throws {
        let missing = names.filter { !manifest.files.contains($0) }
        guard !missing.isEmpty else { return }
        manifest.files = (manifest.files + missing).sorted()
        try save()
    }

    /// Records the files of the model directory about to be put in place (staged at `staged`); the previous
    /// model's files stay listed, so a kill before the swap leaves both accounted for.
    public mutating func claimModel(staged: URL) throws {
        let all = Set(manifest.model ?? []).union(Self.files(under: staged)).sorted()
        guard all != manifest.model else { return }
        manifest.model = all
        try save()
    }

    /// Records that `model/` now holds the model of `step`.
    public mutating func recordModel(step: Int) throws {
        guard manifest.modelStep != step else { return }
        manifest.modelStep = step
        try save()
    }

    /// Whether `model/` is missing or older than the model of `step`: a kill between an epoch's checkpoint and
    /// the rename that puts its model in place. (An output from before the step was recorded is taken as is.)
    public func modelIsBehind(step: Int) -> Bool {
        !Directory.exists(modelURL.path) || (manifest.modelStep.map { $0 != step } ?? false)
    }

    private func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(manifest), to: manifestURL)
    }

    static func foreign(_ url: URL) -> InputError {
        InputError(file: url.path, reason: "was not written by 04-training (kept from another run or tool?); refusing to overwrite it: move it away or choose another --output")
    }

    /// Regular files and links under `directory`, as relative paths (hidden temporaries left out).
    static func files(under directory: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        var out: [String] = []
        for case let entry as String in walker {
            if AtomicFile.isTemporary((entry as NSString).lastPathComponent) { continue }
            if !Directory.exists(directory.path + "/" + entry) { out.append(entry) }
        }
        return out.sorted()
    }

    static func holdsCheckpoints(_ directory: URL) -> Bool {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("checkpoints").path)) ?? []
        return entries.contains { $0 == "LATEST" || $0.hasPrefix("ckpt-") }
    }
}
