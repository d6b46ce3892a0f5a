// Finding and loading a model directory's weights, whatever form they come in: model.safetensors,
// pytorch_model.bin, or either one sharded through its *.index.json.
import Foundation
import LodestoneBase

public enum WeightLoadingError: Error, CustomStringConvertible {
    case noWeights(directory: String)

    public var description: String {
        switch self {
        case let .noWeights(directory):
            return "\(directory): no model.safetensors, pytorch_model.bin or *.index.json found"
        }
    }
}

/// Which weight file a directory offers, in order of preference.
public enum WeightSource: Equatable {
    case safetensors(URL), torch(URL), shardedSafetensors(URL), shardedTorch(URL)

    public static func find(in directory: URL) -> WeightSource? {
        let fm = FileManager.default
        func file(_ name: String) -> URL? {
            let url = directory.appendingPathComponent(name)
            return fm.fileExists(atPath: url.path) ? url : nil
        }
        if let url = file("model.safetensors") { return .safetensors(url) }
        if let url = file("model.safetensors.index.json") { return .shardedSafetensors(url) }
        if let url = file("pytorch_model.bin") { return .torch(url) }
        if let url = file("pytorch_model.bin.index.json") { return .shardedTorch(url) }
        return nil
    }
}

/// All tensors of the model in `directory`, under the names the files use.
public func loadWeights(directory: URL) throws -> [String: TensorData] {
    guard let source = WeightSource.find(in: directory) else {
        throw WeightLoadingError.noWeights(directory: directory.path)
    }
    switch source {
    case let .safetensors(url): return try SafeTensors.read(url)
    case let .torch(url): return try TorchCheckpoint.read(url)
    case let .shardedSafetensors(url): return try loadShards(index: url, reader: SafeTensors.read)
    case let .shardedTorch(url): return try loadShards(index: url, reader: TorchCheckpoint.read)
    }
}

/// A sharded checkpoint: `weight_map` names, for every tensor, the shard file holding it.
func loadShards(index: URL, reader: (URL) throws -> [String: TensorData]) throws -> [String: TensorData] {
    let object: Any
    do { object = try JSONSerialization.jsonObject(with: try readWholeFile(index.path)) } catch let error as FileSystemError {
        throw error
    } catch {
        throw InputError(file: index.path, reason: "not JSON")
    }
    guard let map = (object as? [String: Any])?["weight_map"] as? [String: Any] else {
        throw InputError(file: index.path, field: "weight_map", reason: "missing object")
    }
    var shards: [String: [String]] = [:]
    for (name, value) in map {
        guard let shard = value as? String, !shard.contains("/"), !shard.hasPrefix(".") else {
            throw InputError(file: index.path, field: "weight_map.\(name)", reason: "not a plain shard file name")
        }
        shards[shard, default: []].append(name)
    }
    var tensors: [String: TensorData] = [:]
    for (shard, names) in shards.sorted(by: { $0.key < $1.key }) {
        let loaded = try reader(index.deletingLastPathComponent().appendingPathComponent(shard))
        for name in names {
            guard let tensor = loaded[name] else {
                throw InputError(file: index.path, field: "weight_map.\(name)", reason: "tensor missing from \(shard)")
            }
            tensors[name] = tensor
        }
    }
    return tensors
}
