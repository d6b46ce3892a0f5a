import Foundation
import LodestoneBase
#if canImport(Glibc)
import Glibc
#endif

public enum HubRepoKind: String, Sendable { case dataset, model }

/// One file of a Hub repo as the tree API lists it.
public struct HubFile: Equatable, Sendable {
    public var path: String
    public var size: Int64
    /// The LFS object's SHA-256 (hex) for LFS files; nil for small files kept in git.
    public var lfsSHA256: String?
    public init(path: String, size: Int64, lfsSHA256: String?) { self.path = path; self.size = size; self.lfsSHA256 = lfsSHA256 }
}

/// The Hugging Face Hub's HTTP API: list a repo's files, download one file (datasets and models).
/// The token travels only as an Authorization header and never appears in logs or errors.
public final class HubClient: @unchecked Sendable {
    public let endpoint: String
    let token: String?
    public let http: HTTPClient

    public init(endpoint: String? = nil, token: String? = nil, http: HTTPClient = HTTPClient()) {
        let env = ProcessInfo.processInfo.environment
        var e = endpoint ?? env["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        while e.hasSuffix("/") { e.removeLast() }
        self.endpoint = e
        self.token = token ?? env["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        self.http = http
    }

    public var authHeaders: [String] { token.map { ["Authorization: Bearer \($0)"] } ?? [] }

    static func encodePath(_ p: String) -> String {
        p.split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#;"))) ?? String($0)
        }.joined(separator: "/")
    }

    static func encodeRevision(_ r: String) -> String {
        r.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? r
    }

    public func treeURL(repo: String, revision: String, kind: HubRepoKind) -> String {
        "\(endpoint)/api/\(kind == .dataset ? "datasets" : "models")/\(repo)/tree/\(Self.encodeRevision(revision))?recursive=true"
    }

    public func resolveURL(repo: String, revision: String, kind: HubRepoKind, path: String) -> String {
        "\(endpoint)/\(kind == .dataset ? "datasets/" : "")\(repo)/resolve/\(Self.encodeRevision(revision))/\(Self.encodePath(path))"
    }

    /// Every file of the repo at `revision` (directories left out), following `Link: <…>; rel="next"` pages.
    public func listFiles(repo: String, revision: String, kind: HubRepoKind) throws -> [HubFile] {
        var files: [HubFile] = []
        var next: String? = treeURL(repo: repo, revision: revision, kind: kind)
        var pages = 0
        while let url = next {
            pages += 1
            if pages > 10_000 { throw StorageError.badResponse(url: redactedURL(url), reason: "more than 10,000 listing pages") }
            let response = try http.send(HTTPRequest(url: url, headers: authHeaders))
            guard response.status == 200 else { throw response.error(url: url) }
            guard let entries = try? JSONSerialization.jsonObject(with: response.body) as? [[String: Any]] else {
                throw StorageError.badResponse(url: redactedURL(url), reason: "listing is not a JSON array of entries")
            }
            for (i, entry) in entries.enumerated() where (entry["type"] as? String) == "file" {
                guard let path = entry["path"] as? String, let size = (entry["size"] as? NSNumber)?.int64Value else {
                    throw StorageError.badResponse(url: redactedURL(url), reason: "entry \(i) lacks path or size")
                }
                let lfs = entry["lfs"] as? [String: Any]
                let oid = (lfs?["oid"] as? String).map { $0.hasPrefix("sha256:") ? String($0.dropFirst(7)) : $0 }
                files.append(HubFile(path: path, size: size, lfsSHA256: oid))
            }
            next = Self.nextLink(response.headers["link"], base: url)
        }
        return files
    }

    static func nextLink(_ header: String?, base: String) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = pieces.first, first.hasPrefix("<"), first.hasSuffix(">"),
                  pieces.dropFirst().contains(where: { $0.replacingOccurrences(of: " ", with: "") == "rel=\"next\"" || $0 == "rel=next" })
            else { continue }
            let target = String(first.dropFirst().dropLast())
            return URL(string: target, relativeTo: URL(string: base))?.absoluteString ?? target
        }
        return nil
    }

    /// True when a listed path would leave its folder (absolute, `..`, empty parts, backslashes).
    public static func escapesFolder(_ path: String) -> Bool {
        path.isEmpty || path.hasPrefix("/") || path.contains("\\") || path.contains("\0")
            || path.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    /// Downloads one file to `localURL` atomically (temporary file, fsync, rename), verifying size and,
    /// for LFS files, SHA-256. An existing file that already verifies is kept.
    public func download(repo: String, revision: String, kind: HubRepoKind, path: String, to localURL: URL,
                         expected: HubFile? = nil) throws {
        guard !Self.escapesFolder(path) else {
            throw StorageError.badKey(path, reason: "Hub path escapes its repository folder")
        }
        let file: HubFile
        if let e = expected { file = e } else {
            guard let listed = try listFiles(repo: repo, revision: revision, kind: kind).first(where: { $0.path == path }) else {
                throw StorageError.notFound(store: "\(endpoint)/\(repo)@\(revision)", key: path)
            }
            file = listed
        }
        let target = localURL.standardizedFileURL.path
        var st = stat()
        if stat(target, &st) == 0, Int64(st.st_size) == file.size {
            if let want = file.lfsSHA256 {
                if (try? sha256(ofFile: target)) == want.lowercased() { return }
            } else { return }
        }
        let source = DataSource.http(resolveURL(repo: repo, revision: revision, kind: kind, path: path))
        _ = try streamVerified(from: source, http: http, headers: authHeaders, expectedSize: file.size,
                               expectedSHA256: file.lfsSHA256, what: "\(repo)/\(path)") { consume in
            try AtomicFile.write(to: URL(fileURLWithPath: target)) { sink in _ = try consume(sink) }
        }
    }
}

/// SHA-256 of a local file.
public func sha256(ofFile path: String) throws -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FileSystemError.last(path: path, action: "cannot read") }
    return try sha256(of: FileReader(fd: fd, path: path, range: nil))
}
