// sentence-transformers' Dense module: a linear layer and an activation on the sentence embedding, read from its
// folder (config.json: in_features, out_features, bias, activation_function; weights `linear.weight` [out, in] and
// `linear.bias` in model.safetensors or pytorch_model.bin).
import Foundation
import LodestoneBase

public struct DenseLayer: Equatable, Sendable {
    public enum Activation: String, CaseIterable, Sendable {
        case identity = "torch.nn.modules.linear.Identity"
        case tanh = "torch.nn.modules.activation.Tanh"
        case relu = "torch.nn.modules.activation.ReLU"
        case sigmoid = "torch.nn.modules.activation.Sigmoid"
        case gelu = "torch.nn.modules.activation.GELU"

        /// By its full torch name or its class name alone (older configs and other writers shorten it).
        init?(name: String) {
            let last = name.split(separator: ".").last.map(String.init) ?? name
            guard let found = Activation.allCases.first(where: { $0.rawValue == name || $0.rawValue.hasSuffix("." + last) }) else { return nil }
            self = found
        }

        func apply(_ x: Float) -> Float {
            switch self {
            case .identity: return x
            case .tanh: return Foundation.tanh(x)
            case .relu: return Swift.max(x, 0)
            case .sigmoid: return 1 / (1 + Foundation.exp(-x))
            case .gelu: return x * 0.5 * (1 + Foundation.erf(x / Float(2).squareRoot()))   // torch's exact GELU
            }
        }
    }

    public var inFeatures: Int
    public var outFeatures: Int
    /// Row-major [outFeatures, inFeatures], as torch's nn.Linear.
    public var weight: [Float]
    public var bias: [Float]?
    public var activation: Activation

    public init(inFeatures: Int, outFeatures: Int, weight: [Float], bias: [Float]?, activation: Activation) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.weight = weight; self.bias = bias; self.activation = activation
    }

    /// activation(W x + b), accumulated in Double.
    public func apply(_ x: [Float]) -> [Float] {
        precondition(x.count == inFeatures, "Dense input of width \(x.count), expected \(inFeatures)")
        return (0..<outFeatures).map { o in
            var sum = Double(bias?[o] ?? 0)
            let row = o * inFeatures
            for i in 0..<inFeatures { sum += Double(weight[row + i]) * Double(x[i]) }
            return activation.apply(Float(sum))
        }
    }

    /// Reads the module folder `directory`; `inputWidth` is what the module before it produces.
    public static func read(directory: URL, inputWidth: Int) throws -> DenseLayer {
        let configPath = directory.appendingPathComponent("config.json").path
        let config = try readJSONObject(configPath)
        func int(_ key: String) throws -> Int {
            guard let n = config[key] as? Int, n >= 1 else { throw InputError(file: configPath, field: key, reason: "missing or not a positive integer") }
            return n
        }
        let inFeatures = try int("in_features"), outFeatures = try int("out_features")
        guard inFeatures == inputWidth else {
            throw InputError(file: configPath, field: "in_features", reason: "\(inFeatures), but the module before it gives embeddings of dimension \(inputWidth)")
        }
        // 6.x options beyond a plain linear layer on the sentence embedding: not implemented, so refused.
        if config["use_residual"] as? Bool == true {
            throw InputError(file: configPath, field: "use_residual", reason: "a residual Dense is not implemented")
        }
        for key in ["module_input_name", "module_output_name"] {
            if let name = config[key] as? String, name != "sentence_embedding" {
                throw InputError(file: configPath, field: key, reason: "'\(name)' is not implemented (only sentence_embedding)")
            }
        }
        let hasBias: Bool
        switch config["bias"] {
        case nil: hasBias = true   // nn.Linear's default, and sentence-transformers'
        case let flag as Bool: hasBias = flag
        default: throw InputError(file: configPath, field: "bias", reason: "not true or false")
        }
        let activationName = config["activation_function"] as? String ?? Activation.tanh.rawValue   // Dense's default
        guard let activation = Activation(name: activationName) else {
            throw InputError(file: configPath, field: "activation_function", reason: "'\(activationName)' is not supported (supported: \(Activation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let weights = try loadWeights(directory: directory)
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let t = weights[name] else { throw InputError(file: directory.path, field: name, reason: "missing from the Dense module's weights") }
            guard t.shape == shape else { throw InputError(file: directory.path, field: name, reason: "shape \(t.shape), config.json asks for \(shape)") }
            return t.values
        }
        return DenseLayer(inFeatures: inFeatures, outFeatures: outFeatures, weight: try tensor("linear.weight", [outFeatures, inFeatures]),
                          bias: hasBias ? try tensor("linear.bias", [outFeatures]) : nil, activation: activation)
    }
}
