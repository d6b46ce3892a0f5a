// MosaicBERT is not a model stock transformers knows, so a MosaicBERT directory carries its own Python code:
// a configuration module and a modeling module (PythonModelingSources.swift), named by config.json's
// auto_map, so that `SentenceTransformer(dir, trust_remote_code=True)` and
// `AutoModel.from_pretrained(dir, trust_remote_code=True)` load what 03 and 04 write. Classic BERT needs
// none: stock transformers' BertModel loads it.
import Foundation
import LodestoneBase

public enum PythonModeling {
    /// config.json's auto_map for a MosaicBERT directory: every entry names a module written beside it.
    public static let autoMap: [String: String] = [
        "AutoConfig": "configuration_mosaic_bert.MosaicBertConfig",
        "AutoModel": "modeling_mosaic_bert.MosaicBertModel",
    ]
    /// The class `AutoModel` builds, as config.json's `architectures` names it.
    public static let architecture = "MosaicBertModel"

    /// File name → source of the modules auto_map names.
    public static let files: [(name: String, source: String)] = [
        ("configuration_mosaic_bert.py", configurationSource),
        ("modeling_mosaic_bert.py", modelingSource),
    ]

    /// Writes the modules into `directory` (a staging directory: not fsynced one by one).
    static func write(into directory: URL) throws {
        for file in files {
            try AtomicFile.write(Data(file.source.utf8), to: directory.appendingPathComponent(file.name), durable: false)
        }
    }

    /// `raw` with auto_map pointing at our modules; `alibi_starting_size` is made explicit so that the file
    /// still reads as MosaicBERT once the upstream auto_map (`bert_layers.*`) is gone.
    static func configForPython(_ config: EncoderConfig) -> [String: Any] {
        var raw = config.raw
        raw["auto_map"] = autoMap
        if raw["alibi_starting_size"] == nil { raw["alibi_starting_size"] = config.alibiStartingSize }
        return raw
    }
}
