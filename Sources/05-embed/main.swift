// Step 05 — use a model (beyond the original notebooks).
// `05-embed --model DIR --input FILE --output FILE` embeds texts (.txt one per line, or .jsonl with "text")
//   into .npy (float32 [n, dim]) or .jsonl, in input order; texts are length-sorted into batches for speed.
// `05-embed evaluate --model DIR --pairs FILE.jsonl` prints retrieval accuracy@1 and MRR@10 of anchors
//   against their positives. `05-embed search --model DIR --corpus FILE --query TEXT` prints the nearest texts.
// Works with any sentence-transformers directory of BERT or MosaicBERT (this project's, or Python's).
import ArgumentParser
import Foundation
import LodestoneCLI
import LodestoneCore
import Logging

let log = Logger(label: "05-embed")

struct ModelOptions: ParsableArguments {
    @Option(help: "Sentence-transformers model directory (config.json, weights, vocab, 1_Pooling/).")
    var model: String
    @Option(help: "Texts per forward pass.")
    var batchSize = 32
    @Option(help: "Truncate texts to this many tokens ([CLS]/[SEP] included); default: the model's max_seq_length.")
    var maxSeqLength: Int?
    @Option(help: "OpenBLAS threads (default: OPENBLAS_NUM_THREADS or all cores).")
    var threads: Int?

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let maxSeqLength, maxSeqLength < 2 { throw ValidationError("--max-seq-length must be at least 2") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func load() throws -> SentenceModel {
        if let threads { setBLASThreads(threads) }
        return try SentenceModel.load(URL(fileURLWithPath: model), maxSeqLength: maxSeqLength)
    }
}

func elapsed(since start: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encode", abstract: "Embed a file of texts (the default command).")
    @OptionGroup var options: ModelOptions
    @Option(help: "Input: .txt (one text per line) or .jsonl (a \"text\" field per line).")
    var input: String
    @Option(help: "Output: .npy (float32 [n, dim]) or .jsonl ({\"index\", \"embedding\"} per line); replaced atomically if it exists.")
    var output: String

    func run() throws {
        try runStep("05-embed") {
            // 1. Check the output before any work: a known format, not a directory, not the input itself.
            let format = try EmbeddingFormat(path: output)
            try AtomicFile.checkWritable(output, protecting: [URL(fileURLWithPath: input)])
            // 2. Read the texts.
            let texts = try TextFiles.readTexts(input)
            guard !texts.isEmpty else { throw InputError(file: input, reason: "no texts to embed") }
            // 3. Load the model directory: config, weights, tokenizer, max_seq_length.
            let model = try options.load()
            log.info("model \(options.model): \(model.config.isMosaic ? "MosaicBERT" : "BERT"), \(model.config.layers) layers, dim \(model.dimension), max_seq_length \(model.maxSeqLength)")
            // 4. Tokenize and embed, longest texts first in batches, results back in input order.
            let start = DispatchTime.now()
            let tokenized = model.tokenize(texts)
            let tokenizeSeconds = elapsed(since: start)
            var reported = 0
            let embeddings = try model.embed(tokenized: tokenized, batchSize: options.batchSize) { done in
                if done * 10 / texts.count > reported * 10 / texts.count || done == texts.count {
                    log.info("embedded \(done)/\(texts.count) texts"); reported = done
                }
            }
            let seconds = elapsed(since: start)
            // 5. Write the embeddings atomically (a previous file is replaced only once the new one is whole).
            try AtomicFile.write(format.encode(embeddings, dimension: model.dimension), to: URL(fileURLWithPath: output),
                                 protecting: [URL(fileURLWithPath: input)])
            let tokens = tokenized.reduce(0) { $0 + $1.count }
            let gflops = model.forwardFLOPs(tokenized) / max(seconds - tokenizeSeconds, 1e-9) / 1e9
            print(String(format: "embedded %d texts (%d tokens, dim %d) in %.2f s (tokenize %.3f s): %.1f sentences/s, %.1f GFLOP/s -> %@",
                         texts.count, tokens, model.dimension, seconds, tokenizeSeconds, Double(texts.count) / seconds, gflops, output))
        }
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Retrieval accuracy@1 and MRR@10 of anchors vs. positives.")
    @OptionGroup var options: ModelOptions
    @Option(help: "JSON lines of pairs: [anchor, positive], {\"texts\": [...]}, anchor/positive, query/pos or set.")
    var pairs: String
    @Option(help: "Use only the first N pairs (the score matrix is N × N).")
    var limit: Int?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        try runStep("05-embed evaluate") {
            // 1. Load the pairs and the model.
            var pairList = try TextFiles.readPairs(pairs)
            if let limit { pairList = Array(pairList.prefix(limit)) }
            guard !pairList.isEmpty else { throw InputError(file: pairs, reason: "no pairs to evaluate") }
            let model = try options.load()
            // 2. Embed anchors and positives.
            let anchors = try model.embed(pairList.map(\.0), batchSize: options.batchSize)
            let positives = try model.embed(pairList.map(\.1), batchSize: options.batchSize)
            // 3. Rank every positive for every anchor; report accuracy@1 and MRR@10.
            let metrics = Retrieval.pairMetrics(scores: Retrieval.scoreMatrix(anchors, positives, dimension: model.dimension),
                                                count: pairList.count)
            print("pairs: \(metrics.count)")
            print(String(format: "accuracy@1: %.4f", metrics.accuracyAt1))
            print(String(format: "MRR@10: %.4f", metrics.mrrAt10))
        }
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Nearest texts of a corpus for each query.")
    @OptionGroup var options: ModelOptions
    @Option(help: "Corpus: .txt (one text per line) or .jsonl with \"text\".")
    var corpus: String
    @Option(help: "Query text (repeatable).")
    var query: [String] = []
    @Option(help: "Results per query.")
    var topK = 5

    func validate() throws {
        guard !query.isEmpty else { throw ValidationError("give at least one --query") }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        try runStep("05-embed search") {
            // 1. Load the corpus and the model, and embed the corpus.
            let texts = try TextFiles.readTexts(corpus)
            guard !texts.isEmpty else { throw InputError(file: corpus, reason: "no texts to search") }
            let model = try options.load()
            let corpusEmbeddings = try model.embed(texts, batchSize: options.batchSize)
            // 2. Embed the queries and print the best matches by cosine similarity.
            let queries = try model.embed(query, batchSize: options.batchSize)
            let scores = Retrieval.scoreMatrix(queries, corpusEmbeddings, dimension: model.dimension)
            for (q, text) in query.enumerated() {
                print("query: \(text)")
                for (j, s) in Retrieval.best(scores[(q * texts.count)..<((q + 1) * texts.count)], k: topK) {
                    print(String(format: "  %.4f  ", s) + texts[j])
                }
            }
        }
    }
}

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "05-embed", abstract: "Embed texts, evaluate retrieval, or search with a sentence-transformers model.",
        subcommands: [Encode.self, Evaluate.self, Search.self], defaultSubcommand: Encode.self)
}

Embed.main()
