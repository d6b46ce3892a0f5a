import Foundation
import LodestoneBase
import LodestoneStorage

/// The manifests found in one directory.
public struct Manifests: Sendable {
    public static let datasetFiles = ["GoogleSheets_datasets.tsv", "HuggingFace_datasets.tsv"]
    public static let repoFile = "HuggingFace_repos.tsv"

    public var datasets: [DatasetRow] = []
    public var repos: [HubRepoRow] = []
    /// Manifest files that were read.
    public var files: [String] = []

    /// Reads whichever of the three manifests exist in `directory`; at least one must.
    public static func load(directory: URL) throws -> Manifests {
        let expected = (datasetFiles + [repoFile]).joined(separator: ", ")
        guard Directory.exists(directory.path) else {
            let what = FileManager.default.fileExists(atPath: directory.path) ? "is not a directory" : "does not exist"
            throw InputError(file: directory.path, reason: "manifests directory \(what) (expected one holding \(expected))")
        }
        var result = Manifests()
        var seen: [String: String] = [:]  // Name → "file:line" of its first row
        for name in datasetFiles {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            result.files.append(url.path)
            for row in try readDatasets(url) {
                if let first = seen[row.name] {
                    throw InputError(file: row.manifest, line: row.line, field: "Name",
                                     reason: "duplicate Name '\(row.name)' (first at \(first))")
                }
                seen[row.name] = "\(row.manifest):\(row.line)"
                result.datasets.append(row)
            }
        }
        let repoURL = directory.appendingPathComponent(repoFile)
        if FileManager.default.fileExists(atPath: repoURL.path) {
            result.files.append(repoURL.path)
            result.repos = try readRepos(repoURL)
        }
        if result.files.isEmpty {
            throw InputError(file: directory.path, reason: "holds none of the manifests \(expected)")
        }
        return result
    }

    static func readText(_ url: URL) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw InputError(file: url.path, reason: "cannot read: \(describe(error))") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw InputError(file: url.path, reason: "not UTF-8 text")
        }
        return text
    }

    public static func readDatasets(_ url: URL) throws -> [DatasetRow] {
        let file = url.path
        let table = try TSVTable.parse(try readText(url), file: file)
        let nameCol = try table.column("Name", file: file)
        let linkCol = try table.column("Download link", file: file)
        let sizeCol = try table.column("Size (#Pairs)", file: file)
        let descCol = table.header.firstIndex(of: "Description")
        let base = url.deletingLastPathComponent()
        var rows: [DatasetRow] = []
        for (line, f) in table.rows {
            let name = f[nameCol].trimmingCharacters(in: .whitespaces)
            try checkName(name, file: file, line: line, column: "Name")
            let sizeText = f[sizeCol].replacingOccurrences(of: ",", with: "").trimmingCharacters(in: .whitespaces)
            var pairs: Int64?
            if !sizeText.isEmpty {
                guard let v = Int64(sizeText) ?? Double(sizeText).flatMap({ $0 >= 0 && $0 < 1e18 && $0 == $0.rounded() ? Int64($0) : nil }) else {
                    throw InputError(file: file, line: line, field: "Size (#Pairs)", reason: "not a number: '\(f[sizeCol])'")
                }
                pairs = v
            }
            let source = try parseLink(f[linkCol], base: base, file: file, line: line)
            rows.append(DatasetRow(name: name, description: descCol.map { f[$0] } ?? "", pairs: pairs,
                                   source: source, manifest: file, line: line))
        }
        return rows
    }

    public static func readRepos(_ url: URL) throws -> [HubRepoRow] {
        let file = url.path
        let table = try TSVTable.parse(try readText(url), file: file)
        let repoCol = try table.column("Repo", file: file)
        let revCol = table.header.firstIndex(of: "Revision")
        let exCol = table.header.firstIndex(of: "Exclude")
        let folderCol = table.header.firstIndex(of: "Folder")
        var rows: [HubRepoRow] = []
        var seen = Set<String>()
        for (line, f) in table.rows {
            let repo = f[repoCol].trimmingCharacters(in: .whitespaces)
            let parts = repo.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
                  !repo.contains(where: { $0.isWhitespace }) else {
                throw InputError(file: file, line: line, field: "Repo", reason: "expected owner/name, got '\(repo)'")
            }
            let revision = revCol.map { f[$0].trimmingCharacters(in: .whitespaces) } ?? ""
            let folder = folderCol.map { f[$0].trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } ?? String(parts[1])
            try checkName(folder, file: file, line: line, column: "Folder")
            guard seen.insert(folder).inserted else {
                throw InputError(file: file, line: line, field: "Folder", reason: "duplicate folder '\(folder)'")
            }
            let exclude = exCol.map { f[$0].split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" }).map(String.init) } ?? []
            rows.append(HubRepoRow(repo: repo, revision: revision.isEmpty ? "main" : revision, exclude: exclude,
                                   folder: folder, manifest: file, line: line))
        }
        return rows
    }

    /// A Name becomes part of a store key, so it must be one plain path component.
    static func checkName(_ name: String, file: String, line: Int, column: String) throws {
        if name.isEmpty { throw InputError(file: file, line: line, field: column, reason: "empty") }
        if name == "." || name == ".." || name.contains("/") || name.contains("\\") || name.contains(where: { $0.isNewline || $0 == "\t" }) {
            throw InputError(file: file, line: line, field: column, reason: "'\(name)' is not a plain name (no '/', '..', tabs or newlines)")
        }
    }

    /// https://, http://, file:// or a path relative to the manifest's directory; empty means unknown.
    static func parseLink(_ raw: String, base: URL, file: String, line: Int) throws -> DataSource? {
        let link = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if link.isEmpty { return nil }
        func bad(_ why: String) -> InputError {
            InputError(file: file, line: line, field: "Download link", reason: "bad URL '\(redactedURL(link))': \(why)")
        }
        if link.contains(where: { $0.isWhitespace }) { throw bad("contains whitespace") }
        let lower = link.lowercased()
        if lower.hasPrefix("https://") || lower.hasPrefix("http://") {
            guard let c = URLComponents(string: link), let host = c.host, !host.isEmpty else { throw bad("no host") }
            return .http(link)
        }
        if lower.hasPrefix("file://") {
            guard let u = URL(string: link), u.isFileURL, u.path.hasPrefix("/") else { throw bad("file URL must be absolute (file:///path)") }
            return .file(u.path)
        }
        if let colon = link.firstIndex(of: ":"), link[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }),
           link[..<colon].count > 1 {
            throw bad("unsupported scheme '\(link[..<colon])' (use https, http, file or a relative path)")
        }
        if link.hasPrefix("/") { return .file(link) }
        return .file(base.appendingPathComponent(link).standardizedFileURL.path)
    }
}
