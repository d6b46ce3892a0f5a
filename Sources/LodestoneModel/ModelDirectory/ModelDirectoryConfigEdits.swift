// Lodestone's edits to the MosaicBERT base config (reference §3), as data: each change is applied to the
// raw JSON object and reported as a diff line, so step 03 prints exactly what it changed.
import Foundation

public struct ConfigChange: CustomStringConvertible {
    public let field: String
    public let before: Any?
    public let after: Any
    public var description: String { "  \(field): \(ConfigChange.render(before)) → \(ConfigChange.render(after))" }

    static func render(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "(absent)" }
        if let s = value as? String { return "\"\(s)\"" }
        if JSONSerialization.isValidJSONObject(value),
           let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) {
            return String(decoding: data, as: UTF8.self)
        }
        return "\(value)"
    }
}

/// The published lodestone-base-4096-v1 config changes: longer ALiBi table, no attention dropout,
/// loadable with AutoModel (through our modules, see PythonModeling) and the fast tokenizer.
public func lodestoneConfigEdits(_ raw: [String: Any], alibiStartingSize: Int) -> (raw: [String: Any], changes: [ConfigChange]) {
    var out = raw
    var changes: [ConfigChange] = []
    func set(_ field: String, _ value: Any) {
        let before = out[field]
        if let b = before, ConfigChange.render(b) == ConfigChange.render(value) { return }
        out[field] = value
        changes.append(ConfigChange(field: field, before: before, after: value))
    }
    set("alibi_starting_size", alibiStartingSize)
    set("attention_probs_dropout_prob", 0.0)
    // Our Python modules replace upstream's (bert_layers.py needs Triton and is not shipped): auto_map names
    // only what the directory writer puts beside config.json.
    set("architectures", [PythonModeling.architecture])
    set("auto_map", PythonModeling.autoMap)
    set("tokenizer_class", "BertTokenizerFast")
    return (out, changes)
}
