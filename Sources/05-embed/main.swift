// Step 05 — use a model (beyond the original notebooks).
// `05-embed --model DIR --input FILE --output FILE` embeds texts (.txt one per line, or .jsonl with "text")
//   into .npy (float32 [n, dim]) or .jsonl, in input order; texts are length-sorted into batches for speed.
// `05-embed evaluate --model DIR --pairs FILE.jsonl` prints retrieval accuracy@1 and MRR@10 of anchors
//   against their positives. `05-embed search --model DIR --corpus FILE --query TEXT` prints the nearest texts.
// Works with any sentence-transformers directory of BERT or MosaicBERT (this project's, or Python's).
import ArgumentParser
import Foundation
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
    @Option(help: "Output: .npy (float32 [n, dim]) or .jsonl ({\"index\", \"embedding\"} per line).")
    var output: String
    @Flag(help: .hidden) var benchSgemm = false

    func run() throws {
        // 1. Load the model directory: config, weights, tokenizer, max_seq_length.
        let model = try options.load()
        log.info("model \(options.model): \(model.config.isMosaic ? "MosaicBERT" : "BERT"), \(model.config.layers) layers, dim \(model.dimension), max_seq_length \(model.maxSeqLength)")
        // 2. Read the texts.
        let texts = try readTexts(input)
        // 3. Tokenize and embed, longest texts first in batches, results back in input order.
        let start = DispatchTime.now()
        let tokenized = model.tokenize(texts)
        let tokenizeSeconds = elapsed(since: start)
        var reported = 0
        let embeddings = try model.embed(tokenized: tokenized, batchSize: options.batchSize) { done in
            if done * 10 / max(texts.count, 1) > reported * 10 / max(texts.count, 1) || done == texts.count {
                log.info("embedded \(done)/\(texts.count) texts"); reported = done
            }
        }
        let seconds = elapsed(since: start)
        // 4. Write the embeddings atomically.
        try writeAtomically(output.hasSuffix(".jsonl") ? jsonlData(embeddings) : npyData(embeddings, dimension: model.dimension), to: output)
        let tokens = tokenized.reduce(0) { $0 + $1.count }
        let gflops = model.forwardFLOPs(tokenized) / max(seconds - tokenizeSeconds, 1e-9) / 1e9
        print(String(format: "embedded %d texts (%d tokens, dim %d) in %.2f s (tokenize %.3f s): %.1f sentences/s, %.1f GFLOP/s -> %@",
                     texts.count, tokens, model.dimension, seconds, tokenizeSeconds, Double(texts.count) / seconds, gflops, output))
        if benchSgemm { print(String(format: "cblas_sgemm: %.1f GFLOP/s", sgemmGFLOPs(dimension: model.dimension, inner: model.config.intermediate))) }
    }

    /// cblas_sgemm at an encoder-like shape (2048 tokens × hidden → intermediate), best of 5.
    func sgemmGFLOPs(dimension: Int, inner: Int) -> Double {
        let rows = 2048
        let a = [Float](repeating: 0.5, count: rows * dimension), w = [Float](repeating: 0.25, count: inner * dimension)
        var out = [Float](repeating: 0, count: rows * inner)
        var best = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now()
            out.withUnsafeMutableBufferPointer { o in
                linearForward(o.baseAddress!, a, w, nil, rows: rows, inDim: dimension, outDim: inner)
            }
            best = min(best, elapsed(since: start))
        }
        return 2 * Double(rows * dimension * inner) / best / 1e9
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Retrieval accuracy@1 and MRR@10 of anchors vs. positives.")
    @OptionGroup var options: ModelOptions
    @Option(help: "JSON lines of pairs: [anchor, positive], {\"texts\": [...]}, anchor/positive, query/pos or set.")
    var pairs: String
    @Option(help: "Use only the first N pairs (the score matrix is N × N).")
    var limit: Int?

    func run() throws {
        // 1. Load the model and the pairs.
        let model = try options.load()
        var pairList = try readPairs(pairs)
        if let limit { pairList = Array(pairList.prefix(limit)) }
        guard !pairList.isEmpty else { throw ValidationError("\(pairs): no pairs") }
        // 2. Embed anchors and positives.
        let anchors = try model.embed(pairList.map(\.0), batchSize: options.batchSize)
        let positives = try model.embed(pairList.map(\.1), batchSize: options.batchSize)
        // 3. Rank every positive for every anchor; report accuracy@1 and MRR@10.
        let metrics = retrievalMetrics(scores: scoreMatrix(anchors, positives, dimension: model.dimension), count: pairList.count)
        print("pairs: \(metrics.count)")
        print(String(format: "accuracy@1: %.4f", metrics.accuracyAt1))
        print(String(format: "MRR@10: %.4f", metrics.mrrAt10))
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Nearest texts of a corpus for each query.")
    @OptionGroup var options: ModelOptions
    @Option(help: "Corpus: .txt (one text per line) or .jsonl with \"text\".")
    var corpus: String
    @Option(help: "Query text (repeatable).")
    var query: [String]
    @Option(help: "Results per query.")
    var topK = 5

    func run() throws {
        // 1. Load the model and embed the corpus.
        let model = try options.load()
        let texts = try readTexts(corpus)
        let corpusEmbeddings = try model.embed(texts, batchSize: options.batchSize)
        // 2. Embed the queries and print the best matches by cosine similarity.
        let queries = try model.embed(query, batchSize: options.batchSize)
        let scores = scoreMatrix(queries, corpusEmbeddings, dimension: model.dimension)
        for (q, text) in query.enumerated() {
            print("query: \(text)")
            for (j, s) in bestScores(scores[(q * texts.count)..<((q + 1) * texts.count)], k: topK) {
                print(String(format: "  %.4f  ", s) + texts[j])
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
