// Step 05 — use a model (beyond the original notebooks).
// `05-embed --model DIR --input FILE --output FILE` embeds texts (.txt one per line, or .jsonl with "text")
//   into .npy (float32 [n, dim]) or .jsonl, in input order; texts are length-sorted into batches for speed.
// `05-embed evaluate --model DIR --pairs FILE.jsonl` prints retrieval accuracy@1 and MRR@10 of anchors
//   against their positives. `05-embed search --model DIR --corpus FILE --query TEXT` prints the nearest texts.
// `05-embed mine-hard-negatives --model DIR --data PAIRS --output OUT.jsonl.gz` adds hard negatives to pairs as
//   sentence-transformers' mine_hard_negatives does, in rows 04-training trains on.
// Works with any sentence-transformers directory of BERT or MosaicBERT (this project's, or Python's).
import ArgumentParser
import Foundation
import LodestoneBase
import LodestoneCLI
import LodestoneData
import LodestoneEvaluation
import LodestoneModel
import LodestoneTensor
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

/// User + system CPU seconds of this process so far: on a machine shared with other jobs, CPU time tracks the
/// work done where wall-clock time swings with the load (Scripts/bench-search.sh prints both).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let tv = [usage.ru_utime, usage.ru_stime]
    return tv.reduce(0) { $0 + Double($1.tv_sec) + Double($1.tv_usec) / 1e6 }
}

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
            let evaluator = try Evaluators.load(data, split: split, limit: limit)
            log.info("\(data): \(evaluator.summary)")
            // 2. Load the model (truncated by --truncate-dim), embed what the set needs, and score it.
            let model = try options.load()
            let result = try evaluator.evaluate(model: options.model, truncateDim: nil) { try model.embed($0, batchSize: options.batchSize) }
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
        --corpus-embeddings corpus.npy: the file is memory-mapped and scanned in tiles through cblas_sgemm, or with \
        --precision bf16 through the bf16 kernel, its candidates re-ranked in fp32 (the same hits, faster).
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
            let model = stored == nil || queryEmbeddings == nil ? try options.load() : nil
            let search = CorpusSearch(corpus: try .make(texts: texts, stored: stored, textsFile: corpus ?? "", model: model,
                                                        batchSize: options.batchSize))
            // 2. The queries: texts embedded by the model (with its query prompt), or stored embeddings.
            var queryTexts = query
            if let queries { queryTexts = try TextFiles.readTexts(queries) }
            // Stored query embeddings come without texts (validate allows one source only): nothing to check their rows against.
            let queryMatrix = try CorpusSearch.Matrix.make(texts: queryEmbeddings == nil ? queryTexts : nil, stored: try queryEmbeddings.map { try NpyMatrix(path: $0) },
                                                           textsFile: queries ?? "--query", model: model,
                                                           batchSize: options.batchSize, prompt: options.promptChoice)
            let queryCount = queryMatrix.rows
            guard queryCount > 0 else { throw InputError(file: queries ?? queryEmbeddings ?? "--query", reason: "no queries") }
            // 3. Exact top-k over the whole corpus, tile by tile.
            //    --precision bf16 (or auto, where bf16 is faster) scores in bf16 and re-ranks in fp32: the same hits.
            //    The loaded model's precision when there is one (resolved once: `auto` times the kernels).
            let matmul = try model?.encoder.precision ?? resolvePrecision(options.precision, step: "05-embed")
            let start = DispatchTime.now(), cpuStart = processCPUSeconds()
            let hits = try search.search(queryMatrix, k: topK, precision: matmul)
            let seconds = elapsed(since: start), cpu = processCPUSeconds() - cpuStart
            log.info("searched \(queryCount) queries against \(search.corpus.rows) documents in \(String(format: "%.3f", seconds)) s (\(String(format: "%.1f", Double(queryCount) / max(seconds, 1e-9))) queries/s, CPU \(String(format: "%.3f", cpu)) s), precision \(matmul.rawValue)")
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
}

struct MineHardNegatives: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mine-hard-negatives",
        abstract: "Add hard negatives to (anchor, positive) pairs, as sentence-transformers' mine_hard_negatives (n-tuple rows).",
        discussion: """
        Each anchor's nearest corpus texts (exact cosine search through cblas_sgemm) become its negatives, except \
        its own text and its positives; the corpus is the positives (each distinct text once) plus --corpus. \
        Candidates are filtered (margins against the anchor's lowest positive score, --max-score, --min-score), \
        ranks --range-min..<--range-max of those left are the window, and --num-negatives are taken from it (the \
        best, or a seeded random draw). An anchor with too few is left out, with all its rows, as in \
        sentence-transformers' n-tuple format; the count is printed. --output holds JSON lists \
        ["anchor", "positive", "neg 1", ...], one per line (gzipped when it ends in .gz): a file 04-training \
        trains on directly (put it in the store as data/NAME.jsonl.gz and count it with 02-data-records).
        """)
    @OptionGroup var options: ModelOptions
    @Option(name: [.customLong("data"), .customLong("pairs")],
            help: "Pairs: .jsonl of {\"anchor\", \"positive\"}, or any training record file (.gz too); a line's first (anchor, positive).")
    var data: String
    @Option(help: "Output: .jsonl or .json (.gz to compress); replaced atomically if it exists.")
    var output: String
    @Option(help: "More candidate texts (.txt one per line, or .jsonl with \"text\"); the positives are always candidates.")
    var corpus: String?
    @Option(parsing: .unconditional, help: "Negatives per anchor.")
    var numNegatives = 3
    @Option(parsing: .unconditional, help: "Skip the best this many candidates that pass the filters.")
    var rangeMin = 0
    @Option(parsing: .unconditional, help: "Consider only the best this many candidates that pass the filters (default: --range-min + --num-negatives, times 10 with a margin or --max-score, + the most positives of an anchor).")
    var rangeMax: Int?
    @Option(parsing: .unconditional, help: "Leave out candidates scoring above this.")
    var maxScore: Float?
    @Option(parsing: .unconditional, help: "Leave out candidates scoring below this.")
    var minScore: Float?
    @Option(parsing: .unconditional, help: "Leave out candidates scoring above the positive's score minus this.")
    var absoluteMargin: Float?
    @Option(parsing: .unconditional, help: "Leave out candidates scoring above positive - |positive| × this (0.05 as NV-Retriever).")
    var relativeMargin: Float?
    @Option(help: "top (the best candidates) or random (drawn from the window, seeded by --seed).")
    var samplingStrategy = SamplingStrategy.top
    @Option(parsing: .unconditional, help: "Seed of the random sampling strategy.")
    var seed: UInt64 = 42
    @Option(help: "Prompt name for the corpus texts (--prompt-name/--prompt are the anchors'); default: the model's document, passage or corpus prompt, else its default.")
    var corpusPromptName: String?
    @Option(help: "Prompt text for the corpus texts instead (\"\" for none).")
    var corpusPrompt: String?

    enum SamplingStrategy: String, ExpressibleByArgument, CaseIterable { case top, random }

    var settings: HardNegativeMining.Settings {
        var s = HardNegativeMining.Settings()
        s.numNegatives = numNegatives; s.rangeMin = rangeMin; s.rangeMax = rangeMax
        s.maxScore = maxScore; s.minScore = minScore; s.absoluteMargin = absoluteMargin; s.relativeMargin = relativeMargin
        s.sampling = samplingStrategy == .top ? .top : .random(seed: seed)
        return s
    }

    func validate() throws {
        if let problem = settings.problem { throw ValidationError(problem) }
        if corpusPromptName != nil && corpusPrompt != nil { throw ValidationError("give --corpus-prompt-name or --corpus-prompt, not both") }
    }

    func run() throws {
        try runStep("05-embed mine-hard-negatives", blasThreads: options.threads) {
            // 1. Check the output before any work: JSON lines (optionally gzipped), not a directory, not an input.
            let name = output.lowercased()
            guard [".jsonl", ".json", ".jsonl.gz", ".json.gz"].contains(where: { name.hasSuffix($0) }) else {
                throw InputError(file: output, reason: "unknown output format: expected .jsonl or .json, optionally .gz (JSON lines 04-training reads)")
            }
            let inputs = [("--data", data), ("--corpus", corpus), ("--model", options.model)].compactMap { f, p in p.map { OutputGuard.Input(f, $0) } }
            try OutputGuard.checkFile(output, flag: "--output", inputs: inputs)
            // 2. Read the pairs and the extra corpus; deduplicate as sentence-transformers does.
            let pairs = try TextFiles.readPairs(data)
            guard !pairs.isEmpty else { throw InputError(file: data, reason: "no pairs to mine") }
            let extra = try corpus.map { try TextFiles.readTexts($0) }
            if let extra, extra.isEmpty { throw InputError(file: corpus!, reason: "no texts") }
            let plan = HardNegativeMining.Plan(pairs: pairs, corpus: extra, settings: settings)
            log.info("\(data): \(pairs.count) pairs, \(plan.anchors.count) distinct anchors, \(plan.corpus.count) distinct corpus texts; range_max \(plan.rangeMax)\(rangeMax == nil ? " (derived)" : "")")
            // 3. Load the model; anchors and corpus get the prompts encode_query and encode_document would use.
            let model = try options.load()
            let anchorPrompt = model.queryPrompt(options.prompt == nil && options.promptName == nil ? nil : options.promptChoice)
            let corpusPrompt = model.documentPrompt(corpusPromptName.map { .named($0) } ?? self.corpusPrompt.map { $0.isEmpty ? .none : .text($0) })
            _ = try (model.promptText(anchorPrompt), model.promptText(corpusPrompt))   // an unknown name fails before any work
            // 4. Mine, streaming the rows into the output (atomically: a failure leaves what was there).
            let start = DispatchTime.now()
            var reported: [HardNegativeMiner.Phase: Int] = [:]
            var summary = HardNegativeMiner.Summary()
            try AtomicFile.write(to: URL(fileURLWithPath: output), protecting: inputs.map { URL(fileURLWithPath: $0.path) }) { sink in
                let writer = try TextRowsWriter(sink, compressed: TextRowsWriter.isCompressed(output))
                summary = try HardNegativeMiner.mine(
                    plan, dimension: model.dimension,
                    embedCorpus: { try model.embed($0, batchSize: options.batchSize, prompt: corpusPrompt) },
                    embedAnchors: { try model.embed($0, batchSize: options.batchSize, prompt: anchorPrompt) },
                    progress: { phase, done, total in
                        if done * 10 / total > reported[phase, default: 0] * 10 / total || done == total {
                            log.info("\(done)/\(total) \(phase.rawValue)"); reported[phase] = done
                        }
                    },
                    emit: writer.write)
                guard summary.rowsWritten > 0 else {
                    throw InputError(file: data, reason: "no anchor has \(numNegatives) negatives that pass the filters; nothing written (try a larger --range-max, smaller margins, or no --max-score/--min-score)")
                }
                try writer.finish()
            }
            // 5. Say what was written, what the filters removed, and what was dropped.
            print(String(format: "mined %d rows [anchor, positive, %d negatives] from %d pairs in %.1f s: mean score positive %.4f, negative %.4f -> %@",
                         summary.rowsWritten, numNegatives, pairs.count, elapsed(since: start), summary.meanPositiveScore,
                         summary.meanNegativeScore, output))
            let s = summary.skipped
            for (count, what) in [(s.absoluteMargin, "--absolute-margin"), (s.relativeMargin, "--relative-margin"),
                                  (s.maxScore, "--max-score"), (s.minScore, "--min-score")] where count > 0 {
                print("skipped \(count) candidates for \(what)")
            }
            if summary.rowsDropped > 0 {
                let anchors = summary.anchorsDropped == 1 ? "1 anchor" : "\(summary.anchorsDropped) anchors"
                print("dropped \(summary.rowsDropped) of \(plan.rowCount) rows (\(anchors)): fewer than \(numNegatives) negatives passed the filters")
            }
        }
    }
}

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "05-embed", abstract: "Embed texts, evaluate retrieval, or search with a sentence-transformers model.",
        subcommands: [Encode.self, Evaluate.self, Search.self, MineHardNegatives.self], defaultSubcommand: Encode.self)
}

Embed.main()
