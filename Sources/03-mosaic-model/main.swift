// Step 03 — Mosaic_Model: prepare the encoder once.
// Reads  MosaicBERT weights + config (Hub `hf:mosaicml/mosaic-bert-base-seqlen-2048`, a local directory, or a
//        fresh random init from a config file) and the bert-base-uncased tokenizer (Hub or directory).
// Writes a sentence-transformers directory (default models/mosaic-bert-base-4096): config.json with Lodestone's
//        edits, model.safetensors without the MLM head, tokenizer files, modules.json (Transformer → mean
//        Pooling → Normalize), sentence_bert_config.json, 1_Pooling/config.json, 2_Normalize/, and the Python
//        modules config.json's auto_map names (configuration_/modeling_mosaic_bert.py, trust_remote_code=True).
// Rerunning is safe: the output is written atomically and durably, an existing model is only verified unless
// --force, and nothing but an empty directory or a model directory is ever replaced.
import ArgumentParser
import Foundation
import LodestoneCLI
import LodestoneCore

BLASStartup.choose(step: "03-mosaic-model")   // first: it may start the program again on another kernel

struct MosaicModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "03-mosaic-model",
        abstract: "Turn MosaicBERT into Lodestone's sentence-transformers model directory.")

    @Option(help: "Base model: hf:OWNER/NAME on the Hub, or a local directory with config.json and weights.")
    var from = "hf:mosaicml/mosaic-bert-base-seqlen-2048"
    @Option(help: "Tokenizer: hf:OWNER/NAME, or a directory with vocab.txt or tokenizer.json.")
    var tokenizer = "hf:bert-base-uncased"
    @Option(help: "Build a freshly initialised MosaicBERT from this config.json instead of --from (offline).")
    var initRandom: String?
    @Option(parsing: .unconditional, help: "Seed of the random initialisation.")
    var seed: UInt64 = 42
    @Option(parsing: .unconditional, help: "ALiBi table size written to config.json.")
    var alibiStartingSize = 4096
    @Option(parsing: .unconditional, help: "max_seq_length of the sentence-transformers model (tokens, [CLS]/[SEP] included).")
    var maxSeqLength = 2048
    @Option(help: "Output model directory.")
    var output = "models/mosaic-bert-base-4096"
    @Option(help: "Hub revision.")
    var revision = "main"
    @Option(help: "Hub endpoint (default: $HF_ENDPOINT or https://huggingface.co).")
    var hubEndpoint: String?
    @Option(help: "Download cache for Hub files.")
    var cacheDir = (ProcessInfo.processInfo.environment["LODESTONE_CACHE"] ?? (NSHomeDirectory() + "/.cache/lodestone")) + "/hub"
    @Flag(help: "Rebuild the output even if it already exists.")
    var force = false

    func validate() throws {
        guard maxSeqLength >= 2 else { throw ValidationError("--max-seq-length must be at least 2") }
        guard alibiStartingSize >= 1 else { throw ValidationError("--alibi-starting-size must be positive") }
    }

    func run() throws {
        try runStep("03-mosaic-model") { try prepare() }
    }

    func prepare() throws {
        let outputURL = URL(fileURLWithPath: output)
        let cache = URL(fileURLWithPath: cacheDir)
        // 0. Never replace what is not ours: an existing --output must be empty or a model directory (one that a
        //    killed run was replacing is put back first).
        //    Nor is it an input in disguise: inside, equal to or holding a local --from, --tokenizer or --init-random.
        let inputs = [("--from", from), ("--tokenizer", tokenizer)].filter { hubRepo($0.1) == nil }.map { OutputGuard.Input($0.0, $0.1) }
            + (initRandom.map { [OutputGuard.Input("--init-random", $0)] } ?? [])
        try OutputGuard.checkDirectory(output, flag: "--output", inputs: inputs, mustNotHold: inputs)
        Directory.recoverInterruptedReplace(of: outputURL)
        guard SentenceTransformerDirectory.isReplaceable(outputURL) else {
            throw InputError(file: output, reason: "exists and is not a model directory; refusing to replace it (choose another --output)")
        }
        if !force, FileManager.default.fileExists(atPath: outputURL.appendingPathComponent("model.safetensors").path) {
            print("\(output) exists; verifying it (use --force to rebuild)")
        } else {
            // 1. Get the base model: its config and weights (or a fresh random init), and the tokenizer.
            print("[1] base model")
            var (config, weights) = try loadBase(cache: cache)
            let tokenizerDir = try hubRepo(tokenizer).map {
                try fetchFromHub(repo: $0, revision: revision, endpoint: hubEndpoint, cache: cache, wanted: tokenizerFiles)
            } ?? URL(fileURLWithPath: tokenizer)
            let wordPiece = try WordPieceTokenizer(directory: tokenizerDir)
            print("  \(config.layers) layers, hidden \(config.hidden), \(config.heads) heads; tokenizer \(wordPiece.vocabSize) tokens")

            // 2. Apply Lodestone's config changes, printed as a diff.
            print("[2] config changes")
            let (edited, changes) = lodestoneConfigEdits(config.raw, alibiStartingSize: alibiStartingSize)
            changes.forEach { print($0) }
            config = try EncoderConfig(json: edited, file: "edited config.json")

            // 3. Convert the weights: drop the MLM head (cls.*); the rest is written as model.safetensors.
            print("[3] weights")
            let (kept, dropped) = withoutPretrainingHead(weights)
            weights = kept
            print("  \(kept.count) tensors kept, \(dropped) MLM-head tensors dropped")

            // 4. Write the sentence-transformers directory (atomically and durably).
            print("[4] writing \(output)")
            //    README.md is its model card: the base model, the architecture, how to load it.
            var directory = SentenceTransformerDirectory(config: config, weights: weights, tokenizer: wordPiece, maxSeqLength: maxSeqLength)
            directory.card = initRandom == nil ? ModelCard(baseModel: hubRepo(from) ?? from, onTheHub: hubRepo(from) != nil) : ModelCard()
            try directory.write(to: outputURL)
        }

        // 5. Verify: load it back, embed two probe sentences, report size and similarity.
        print("[5] verify")
        let model = try SentenceModel.load(outputURL)
        let probes = ["A man is playing a guitar on stage.", "Someone performs music with a guitar."]
        let e = try model.embed(probes)
        print("  parameters: \(model.encoder.parameterCount) (\(String(format: "%.1f", Double(model.encoder.parameterCount) / 1e6))M)")
        print("  max_seq_length: \(model.maxSeqLength), alibi_starting_size: \(model.config.alibiStartingSize)")
        print("  cosine(\"\(probes[0])\", \"\(probes[1])\") = \(String(format: "%.4f", cosineSimilarity(e[0], e[1])))")
    }

    /// Config and weights from --init-random, the Hub, or a directory.
    func loadBase(cache: URL) throws -> (EncoderConfig, [(String, TensorData)]) {
        if let initRandom {
            let config = try EncoderConfig(contentsOf: URL(fileURLWithPath: initRandom))
            print("  random init from \(initRandom) (seed \(seed))")
            return (config, SentenceEncoder(config: config, randomSeed: seed).namedWeights())
        }
        let dir = try hubRepo(from).map {
            try fetchFromHub(repo: $0, revision: revision, endpoint: hubEndpoint, cache: cache, wanted: modelFiles)
        } ?? URL(fileURLWithPath: from)
        try SentenceTransformerDirectory.checkIsModelDirectory(dir)
        let config = try EncoderConfig(contentsOf: dir.appendingPathComponent("config.json"))
        let weights = try loadWeights(directory: dir).sorted { $0.key < $1.key }
        // Fail now, not after writing, if the weights do not fit the config.
        _ = try SentenceEncoder(config: config, weights: Dictionary(uniqueKeysWithValues: weights))
        print("  \(dir.path): \(weights.count) tensors")
        return (config, weights)
    }
}

MosaicModel.main()
