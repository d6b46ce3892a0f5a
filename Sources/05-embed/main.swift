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

BLASStartup.choose(step: "05-embed")   // first: it may start the program again on another kernel

let log = Logger(label: "05-embed")

struct ModelOptions: ParsableArguments {
    @Option(help: "Sentence-transformers model directory (config.json, weights, vocab, 1_Pooling/).")
    var model: String
    @Option(parsing: .unconditional, help: "Texts per forward pass.")
    var batchSize = 32
    @Option(parsing: .unconditional, help: "Truncate texts to this many tokens ([CLS]/[SEP] included); default: the model's max_seq_length. MosaicBERT takes any length (e.g. 8192); BERT refuses texts past max_position_embeddings.")
    var maxSeqLength: Int?
    @Option(parsing: .unconditional, help: "OpenBLAS threads (default: OPENBLAS_NUM_THREADS or all cores).")
    var threads: Int?
    @Option(help: "Prepend the model's prompt of this name (config_sentence_transformers.json's prompts) to each text; default: its default_prompt_name, if any.")
    var promptName: String?
    @Option(help: "Prepend this text to each text instead (\"\" for no prompt at all).")
    var prompt: String?
    @Option(help: "GEMM precision: fp32, bf16 (bf16 inputs, fp32 sums; needs avx512_bf16, refused otherwise) or auto (bf16 where supported and faster).")
    var precision = "fp32"
    @Option(parsing: .unconditional, help: "Keep the first D dimensions of each embedding, re-normalized (a Matryoshka model's short embedding); D at most the model's dimension.")
    var truncateDim: Int?

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, found \(batchSize)") }
        if let maxSeqLength, maxSeqLength < 2 { throw ValidationError("--max-seq-length must be at least 2, found \(maxSeqLength)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, found \(threads)") }
        if promptName != nil && prompt != nil { throw ValidationError("give --prompt-name or --prompt, not both") }
        if let truncateDim, truncateDim < 1 { throw ValidationError("--truncate-dim must be at least 1, found \(truncateDim)") }
    }

    /// The prompt these flags ask for (the model's default when neither is given).
    var promptChoice: SentenceModel.Prompt {
        if let promptName { return .named(promptName) }
        if let prompt { return prompt.isEmpty ? .none : .text(prompt) }
        return .modelDefault
    }

    func load() throws -> SentenceModel {
        if let threads { setBLASThreads(threads) }
        let matmul = try resolvePrecision(precision, step: "05-embed")   // after the threads: auto times them
        let loaded = try SentenceModel.load(URL(fileURLWithPath: model), maxSeqLength: maxSeqLength)
        loaded.encoder.precision = matmul
        if let truncateDim {
            // Past the model's width is a usage error, like any bad flag value.
            guard truncateDim <= loaded.fullDimension else {
                throw ValidationError("--truncate-dim must be at most the model's dimension \(loaded.fullDimension), found \(truncateDim)")
            }
            try loaded.truncate(to: truncateDim)
            let trained = loaded.matryoshkaDims.map { $0.contains(truncateDim) ? " (a trained Matryoshka width)" : " (not one of the trained Matryoshka widths \($0))" } ?? " (the model records no Matryoshka training)"
            log.info("embeddings truncated to \(truncateDim) of \(loaded.fullDimension) dimensions, re-normalized\(trained)")
        }
        return loaded
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
        try runStep("05-embed", blasThreads: options.threads) {
            // 1. Check the output before any work: a known format, not a directory, not an input in disguise.
            let format = try EmbeddingFormat(path: output)
            try OutputGuard.checkFile(output, flag: "--output", inputs: [.init("--input", input), .init("--model", options.model)])
            // 2. Read the texts.
            let texts = try TextFiles.readTexts(input)
            guard !texts.isEmpty else { throw InputError(file: input, reason: "no texts to embed") }
            // 3. Load the model directory: config, weights, tokenizer, max_seq_length.
            let model = try options.load()
            log.info("model \(options.model): \(model.config.isMosaic ? "MosaicBERT" : "BERT"), \(model.config.layers) layers, \(model.pooling.summary), dim \(model.dimension), max_seq_length \(model.maxSeqLength)")
            // 4. Tokenize and embed, longest texts first in batches, results back in input order.
            let prompt = try model.promptText(options.promptChoice)
            if !prompt.isEmpty { log.info("prompt: \"\(prompt)\"\(model.pooling.includePrompt ? "" : " (left out of the pooling)")") }
            let start = DispatchTime.now()
            let tokenized = model.tokenize(texts, prompt: prompt)
            let tokenizeSeconds = elapsed(since: start)
            var reported = 0
            let embeddings: [[Float]]
            do {
                embeddings = try model.embed(tokenized: tokenized, batchSize: options.batchSize,
                                             skip: model.pooling.includePrompt ? 0 : model.promptLength(prompt)) { done in
                    if done * 10 / texts.count > reported * 10 / texts.count || done == texts.count {
                        log.info("embedded \(done)/\(texts.count) texts"); reported = done
                    }
                }
            } catch EncoderError.sequenceTooLong(let row, let length, let maxPositions) {
                throw InputError(file: input, reason: "text \(row + 1) has \(length) tokens, past this BERT model's max_position_embeddings \(maxPositions); give --max-seq-length \(maxPositions) or less to truncate it")
            }
            let seconds = elapsed(since: start)
            // 5. Write the embeddings atomically (a previous file is replaced only once the new one is whole).
            try AtomicFile.write(format.encode(embeddings, dimension: model.dimension), to: URL(fileURLWithPath: output),
                                 protecting: [URL(fileURLWithPath: input)])
            let tokens = tokenized.reduce(0) { $0 + $1.count }
            let gflops = model.forwardFLOPs(tokenized) / max(seconds - tokenizeSeconds, 1e-9) / 1e9
            print(String(format: "embedded %d texts (%d tokens, dim %d) in %.2f s (tokenize %.3f s): %.1f sentences/s, %.1f GFLOP/s, precision %@ -> %@",
                         texts.count, tokens, model.dimension, seconds, tokenizeSeconds, Double(texts.count) / seconds, gflops,
                         model.encoder.precision.rawValue, output))
        }
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a model as sentence-transformers' evaluators do, on a retrieval set, scored pairs or pairs.",
        discussion: """
        --data is recognised by its layout: a BEIR directory (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) → \
        accuracy/precision/recall@1,3,5,10, MRR@10, nDCG@10, MAP@100 (InformationRetrievalEvaluator, cosine); \
        a .tsv or .jsonl of sentence1, sentence2, score → Pearson and Spearman of the cosine similarities \
        (EmbeddingSimilarityEvaluator); a .jsonl of anchor/positive pairs → retrieval of each anchor's positive \
        among all positives.
        """)
    @OptionGroup var options: ModelOptions
    @Option(name: [.customLong("data"), .customLong("pairs")],
            help: "Evaluation set: a BEIR directory, a scored-pairs .tsv/.jsonl, or a pairs .jsonl.")
    var data: String
    @Option(help: "qrels split of a BEIR directory (default: test, or the only one).")
    var split: String?
    @Option(parsing: .unconditional, help: "Pairs files only: use the first N pairs.")
    var limit: Int?
    @Option(help: "Also write the scores as JSON to this file (replaced atomically).")
    var json: String?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, found \(limit)") }
    }

    func run() throws {
        try runStep("05-embed evaluate", blasThreads: options.threads) {
            // 1. Read the evaluation set; a JSON output is checked before any work.
            if let json { try OutputGuard.checkFile(json, flag: "--json", inputs: [.init("--data", data), .init("--model", options.model)]) }
            var set = try EvaluationData.load(data, split: split)
            if let limit, case .pairs(let r) = set {
                set = .pairs(RetrievalSet(pairs: Array(zip(r.queryTexts, r.corpusTexts).prefix(limit))))
            }
            if case .pairs(let r) = set, r.queryIDs.isEmpty { throw InputError(file: data, reason: "no pairs to evaluate") }
            if case .similarity(let p) = set, p.count < 2 { throw InputError(file: data, reason: "need at least 2 scored pairs") }
            log.info("\(data): \(Evaluation.summary(set))")
            // 2. Load the model, embed what the set needs, and score it.
            let model = try options.load()
            let metrics = try Evaluation.run(set, dimension: model.dimension) { try model.embed($0, batchSize: options.batchSize) }
            var splitName: String? = nil
            if case .retrieval(let r) = set { splitName = r.split }
            let result = EvaluationResult(set: set, data: data, split: splitName, model: options.model, metrics: metrics)
            // 3. Print the scores (and write them as JSON); an undefined metric is said so, in one line.
            result.lines.forEach { print($0) }
            result.notes.forEach { FileHandle.standardError.write(Data("05-embed evaluate: note: \($0)\n".utf8)) }
            if let json { try AtomicFile.write(try result.json(), to: URL(fileURLWithPath: json)) }
        }
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Nearest texts of a corpus for each query (exact top-k by cosine similarity).",
        discussion: """
        Embed a large corpus once (05-embed encode --output corpus.npy) and search it many times with \
        --corpus-embeddings corpus.npy: the file is memory-mapped and scanned in blocks through cblas_sgemm.
        """)
    @OptionGroup var options: ModelOptions
    @Option(help: "Corpus texts: .txt (one per line) or .jsonl with \"text\" (optional with --corpus-embeddings: hits are then shown by index).")
    var corpus: String?
    @Option(help: "The corpus's embeddings from 05-embed encode (.npy, float32 [n, dim], rows in corpus order).")
    var corpusEmbeddings: String?
    @Option(help: "Query text (repeatable).")
    var query: [String] = []
    @Option(help: "A file of queries (.txt or .jsonl, like --corpus).")
    var queries: String?
    @Option(help: "Query embeddings (.npy) instead of query texts.")
    var queryEmbeddings: String?
    @Option(parsing: .unconditional, help: "Results per query.")
    var topK = 5
    @Option(help: "Write the results as JSON lines ({\"query\", \"hits\": [{\"index\", \"score\"}]}) instead of printing them.")
    var output: String?

    func validate() throws {
        let sources = [!query.isEmpty, queries != nil, queryEmbeddings != nil].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give the queries one way: --query (repeatable), --queries FILE or --query-embeddings FILE.npy") }
        guard corpus != nil || corpusEmbeddings != nil else { throw ValidationError("give --corpus, --corpus-embeddings, or both") }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1, found \(topK)") }
        if options.truncateDim != nil && corpusEmbeddings != nil && queryEmbeddings != nil {
            throw ValidationError("--truncate-dim applies to embeddings the model computes; stored ones are used as they are (encode them with --truncate-dim)")
        }
    }

    func run() throws {
        try runStep("05-embed search", blasThreads: options.threads) {
            if let output {
                let inputs = [("--corpus", corpus), ("--corpus-embeddings", corpusEmbeddings), ("--queries", queries),
                              ("--query-embeddings", queryEmbeddings), ("--model", options.model)]
                try OutputGuard.checkFile(output, flag: "--output", inputs: inputs.compactMap { f, p in p.map { .init(f, $0) } })
            }
            // 1. The corpus: texts to show, and embeddings (memory-mapped from --corpus-embeddings, or computed).
            let texts = try corpus.map { try TextFiles.readTexts($0) }
            if let texts, texts.isEmpty { throw InputError(file: corpus!, reason: "no texts to search") }
            let stored = try corpusEmbeddings.map { try NpyMatrix(path: $0) }
            if let stored, let texts, stored.rows != texts.count {
                throw InputError(file: stored.path, field: "shape", reason: "\(stored.rows) rows, but \(corpus!) holds \(texts.count) texts")
            }
            let needModel = stored == nil || queryEmbeddings == nil
            let model = needModel ? try options.load() : nil
            let dimension = model?.dimension ?? stored!.dimension
            if let stored, stored.dimension != dimension {
                throw InputError(file: stored.path, field: "shape", reason: "embeddings of dimension \(stored.dimension), the model's is \(dimension)")
            }
            let computed = stored == nil ? try model!.embed(texts!, batchSize: options.batchSize).flatMap { $0 } : []
            // 2. The queries: texts embedded by the model, or stored embeddings.
            var queryTexts = query
            if let queries { queryTexts = try TextFiles.readTexts(queries) }
            let queryMatrix = try queryEmbeddings.map { try NpyMatrix(path: $0) }
            if let queryMatrix, queryMatrix.dimension != dimension {
                throw InputError(file: queryMatrix.path, field: "shape", reason: "embeddings of dimension \(queryMatrix.dimension), the corpus's is \(dimension)")
            }
            let queryVectors = queryMatrix == nil
                ? try model!.embed(queryTexts, batchSize: options.batchSize, prompt: options.promptChoice).flatMap { $0 } : []
            let queryCount = queryMatrix?.rows ?? queryTexts.count
            guard queryCount > 0 else { throw InputError(file: queries ?? queryEmbeddings ?? "--query", reason: "no queries") }
            // 3. Exact top-k over the whole corpus, block by block.
            let start = DispatchTime.now()
            let hits = withMatrix(queryMatrix, fallback: queryVectors) { q in
                withMatrix(stored, fallback: computed) { c in
                    Retrieval.search(queries: q, queryCount: queryCount, corpus: c, corpusCount: stored?.rows ?? texts!.count,
                                     dimension: dimension, k: topK)
                }
            }
            let seconds = elapsed(since: start)
            log.info("searched \(queryCount) queries against \(stored?.rows ?? texts!.count) documents in \(String(format: "%.3f", seconds)) s (\(String(format: "%.1f", Double(queryCount) / max(seconds, 1e-9))) queries/s)")
            // 4. Print the hits, or write them as JSON lines.
            if let output {
                var lines = ""
                for (q, list) in hits.enumerated() {
                    lines += "{\"query\": \(q), \"hits\": [" + list.map { "{\"index\": \($0.index), \"score\": \($0.score)}" }.joined(separator: ", ") + "]}\n"
                }
                try AtomicFile.write(Data(lines.utf8), to: URL(fileURLWithPath: output))
                return
            }
            for (q, list) in hits.enumerated() {
                print("query: " + (q < queryTexts.count ? queryTexts[q] : "#\(q)"))
                for hit in list { print(String(format: "  %.4f  ", hit.score) + (texts.map { $0[hit.index] } ?? "#\(hit.index)")) }
            }
        }
    }

    /// The rows of a stored matrix, or of computed embeddings, as one float buffer.
    func withMatrix<R>(_ matrix: NpyMatrix?, fallback: [Float], _ body: (UnsafePointer<Float>) -> R) -> R {
        if let matrix { return matrix.withRows(body) }
        return fallback.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "05-embed", abstract: "Embed texts, evaluate retrieval, or search with a sentence-transformers model.",
        subcommands: [Encode.self, Evaluate.self, Search.self], defaultSubcommand: Encode.self)
}

Embed.main()
