// Fetching a model or tokenizer from the Hugging Face Hub into a local cache directory. Files already
// there that verify are kept, so a rerun downloads nothing; HubClient writes atomically.
import ArgumentParser
import Foundation
import LodestoneCore

/// "hf:owner/name" → "owner/name"; nil for a local directory.
func hubRepo(_ source: String) -> String? {
    source.hasPrefix("hf:") ? String(source.dropFirst(3)) : nil
}

/// Downloads the files of `repo` that `wanted` selects into `cache/<owner>/<name>` and returns that directory.
func fetchFromHub(repo: String, revision: String, endpoint: String?, cache: URL,
                  wanted: ([HubFile]) throws -> [HubFile]) throws -> URL {
    let client = endpoint.map { HubClient(endpoint: $0) } ?? HubClient()
    let files = try wanted(try client.listFiles(repo: repo, revision: revision, kind: .model))
    let dir = cache.appendingPathComponent(repo)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for file in files {
        // HubClient keeps a local file that already verifies (size, and SHA-256 for LFS files).
        print("  \(repo)/\(file.path) (\(file.size) bytes)")
        try client.download(repo: repo, revision: revision, kind: .model, path: file.path,
                            to: dir.appendingPathComponent(file.path), expected: file)
    }
    return dir
}

/// config.json plus the preferred weights: model.safetensors, else pytorch_model.bin, else their shards.
func modelFiles(_ files: [HubFile]) throws -> [HubFile] {
    let byPath = Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
    guard let config = byPath["config.json"] else { throw ValidationError("the Hub repo has no config.json") }
    for single in ["model.safetensors", "pytorch_model.bin"] {
        if let f = byPath[single] { return [config, f] }
    }
    for (index, ext) in [("model.safetensors.index.json", ".safetensors"), ("pytorch_model.bin.index.json", ".bin")] {
        if let f = byPath[index] {
            return [config, f] + files.filter { !$0.path.contains("/") && $0.path.hasSuffix(ext) && $0.path != index }
        }
    }
    throw ValidationError("the Hub repo has no model.safetensors, pytorch_model.bin or shard index")
}

/// The WordPiece tokenizer files that exist in the repo.
func tokenizerFiles(_ files: [HubFile]) throws -> [HubFile] {
    let wanted: Set<String> = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
    let picked = files.filter { wanted.contains($0.path) }
    guard picked.contains(where: { $0.path == "vocab.txt" || $0.path == "tokenizer.json" }) else {
        throw ValidationError("the Hub repo has no vocab.txt or tokenizer.json")
    }
    return picked
}
