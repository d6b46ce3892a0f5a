import Foundation
import LodestoneBase
import LodestoneStorage

public enum IngestPlanner {
    /// A local source's size is known up front (an HTTP one only when the transfer starts).
    static func localFileSize(_ source: DataSource) -> Int64? {
        guard case .file(let path) = source,
              let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber else { return nil }
        return size.int64Value
    }

    /// Store key of a manifest row.
    public static func key(forDataset name: String) -> String { "data/\(name).json.gz" }

    /// Store key of a repo file: `.jsonl.gz` becomes `.json.gz`.
    public static func key(folder: String, path: String) -> String {
        var p = path
        if p.hasSuffix(".jsonl.gz") { p = String(p.dropLast(".jsonl.gz".count)) + ".json.gz" }
        return "data/\(folder)/\(p)"
    }

    /// Whether a repo file is pulled: a JSON-lines gzip whose name stem is not excluded.
    public static func keeps(_ path: String, exclude: [String]) -> Bool {
        guard path.hasSuffix(".jsonl.gz") || path.hasSuffix(".json.gz") else { return false }
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        let stem = fileName.split(separator: ".").first.map(String.init) ?? fileName
        return !exclude.contains(stem) && !exclude.contains(fileName)
    }

    /// Builds the plan. `only` (names of rows, repo folders, repos or single repo files) limits it;
    /// a name in `only` that matches nothing is an error, so a typo never silently does nothing.
    public static func plan(_ manifests: Manifests, hub: HubClient, only: [String] = []) throws -> IngestPlan {
        var plan = IngestPlan()
        let wanted = Set(only)
        var matched = Set<String>()
        func selected(_ names: String...) -> Bool {
            if wanted.isEmpty { return true }
            let hits = names.filter { wanted.contains($0) }
            matched.formUnion(hits)
            return !hits.isEmpty
        }
        for row in manifests.datasets where selected(row.name) {
            guard let source = row.source else {
                plan.skipped.append((row.name, "no download link in \((row.manifest as NSString).lastPathComponent)"))
                continue
            }
            plan.transfers.append(PlannedTransfer(name: row.name, source: source, key: key(forDataset: row.name),
                                                  size: localFileSize(source), sha256: nil))
        }
        for repo in manifests.repos {
            let wholeRepo = selected(repo.folder, repo.repo)
            let files: [HubFile]
            do {
                if !wholeRepo && !wanted.contains(where: { $0.hasPrefix(repo.folder + "/") }) { continue }
                files = try hub.listFiles(repo: repo.repo, revision: repo.revision, kind: .dataset)
            } catch {
                plan.failures.append((repo.folder, "listing \(repo.repo)@\(repo.revision) failed: \(error)"))
                continue
            }
            for file in files where keeps(file.path, exclude: repo.exclude) {
                let name = "\(repo.folder)/\(file.path)"
                guard wholeRepo || selected(name) else { continue }
                if HubClient.escapesFolder(file.path) {
                    plan.failures.append((name, "refused: listed path '\(file.path)' escapes its folder"))
                    continue
                }
                let url = hub.resolveURL(repo: repo.repo, revision: repo.revision, kind: .dataset, path: file.path)
                plan.transfers.append(PlannedTransfer(name: name, source: .http(url), key: key(folder: repo.folder, path: file.path),
                                                      size: file.size, sha256: file.lfsSHA256, headers: hub.authHeaders))
            }
        }
        let unknown = wanted.subtracting(matched).sorted()
        if !unknown.isEmpty { throw UnmatchedOnly(names: unknown, manifests: manifests) }
        return plan
    }
}

/// `--only` names that match nothing: says so, and shows what could be matched.
public struct UnmatchedOnly: Error, CustomStringConvertible {
    public var names: [String]
    var candidates: [String]

    init(names: [String], manifests: Manifests) {
        self.names = names
        candidates = manifests.datasets.map(\.name) + manifests.repos.flatMap { [$0.folder, $0.repo] }
    }

    public var description: String {
        let shown = candidates.prefix(8).joined(separator: ", ")
        let more = candidates.count > 8 ? ", … (\(candidates.count) in all)" : ""
        return "--only \(names.joined(separator: " ")): no manifest row, repo or repo file matches "
            + "\(names.count == 1 ? "this name" : "these names"); it can match dataset names, repo folders or repos "
            + "(\(shown)\(more)) or <folder>/<file> of a repo"
    }
}
