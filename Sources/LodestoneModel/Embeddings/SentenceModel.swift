// A model directory ready to embed text: tokenizer + encoder + max_seq_length + pooling + prompts. Texts are
// tokenized (after the prompt, if any), sorted by length into batches (so a batch wastes nothing on ragged rows),
// pooled as the directory asks, and returned in input order.
import Foundation
import LodestoneBase
import LodestoneTensor
import LodestoneText

public final class SentenceModel {
    public let config: EncoderConfig
    public let encoder: SentenceEncoder
    public let tokenizer: WordPieceTokenizer
    /// Tokens per text, [CLS] and [SEP] included.
    public let maxSeqLength: Int
    public let pooling: SentencePooling
    public let prompts: SentencePrompts
    /// Where the model was read from, to name it in errors about its prompts.
    public let source: String
    /// The widths a Matryoshka loss trained (the directory's `matryoshka_dims`), nil when not trained so.
    public var matryoshkaDims: [Int]?
    /// Keep only the first this many dimensions of every embedding, re-normalized (set by `truncate(to:)`).
    public private(set) var truncateDim: Int?

    public init(config: EncoderConfig, encoder: SentenceEncoder, tokenizer: WordPieceTokenizer, maxSeqLength: Int,
                pooling: SentencePooling = SentencePooling(), prompts: SentencePrompts = SentencePrompts(), source: String = "model") {
        self.config = config
        self.encoder = encoder
        self.tokenizer = tokenizer
        // Not clamped for classic BERT: a text past its position table is refused by `embed`, not cut short
        // silently (MosaicBERT's ALiBi extrapolates to any length, in memory linear in it).
        self.maxSeqLength = maxSeqLength
        self.pooling = pooling
        self.prompts = prompts
        self.source = source
    }

    /// Loads a sentence-transformers directory (ours, or one written by Python); `maxSeqLength` overrides
    /// the directory's own.
    public static func load(_ directory: URL, maxSeqLength: Int? = nil) throws -> SentenceModel {
        let dir = try SentenceTransformerDirectory.read(directory)
        let encoder = try SentenceEncoder(config: dir.config, weights: Dictionary(dir.weights, uniquingKeysWith: { a, _ in a }))
        let model = SentenceModel(config: dir.config, encoder: encoder, tokenizer: dir.tokenizer,
                                  maxSeqLength: maxSeqLength ?? dir.maxSeqLength, pooling: dir.pooling, prompts: dir.prompts,
                                  source: directory.appendingPathComponent("config_sentence_transformers.json").path)
        model.matryoshkaDims = dir.matryoshkaDims
        return model
    }

    /// Width of the embeddings `embed` returns: `truncateDim` when set, else `fullDimension`.
    public var dimension: Int { truncateDim ?? fullDimension }
    /// Width of the sentence embedding (hidden size × pooling modes, or the last Dense module's out_features).
    public var fullDimension: Int { pooling.dimension(hidden: config.hidden) }

    /// From now on `embed` returns the first `dim` dimensions, L2-normalized again (a Matryoshka model's short
    /// embedding; the cosine of the truncated vectors). nil: the whole embedding.
    public func truncate(to dim: Int?) throws {
        if let dim, !(1...fullDimension).contains(dim) {
            throw InputError(file: source, reason: "cannot truncate to \(dim) dimensions: the model's embeddings have \(fullDimension)")
        }
        truncateDim = dim
    }

    /// Which prompt goes before each text: the model's default (`default_prompt_name`, if it has one), none, one of
    /// its named prompts, or any text.
    public enum Prompt: Equatable, Sendable { case modelDefault, none, named(String), text(String) }

    /// The prompt's text ("" for none).
    public func promptText(_ prompt: Prompt) throws -> String {
        switch prompt {
        case .modelDefault: return prompts.defaultName.flatMap { prompts.prompts[$0] } ?? ""
        case .none: return ""
        case .named(let name): return try prompts.text(named: name, file: source)
        case .text(let text): return text
        }
    }

    public func tokenize(_ texts: [String], prompt: String = "") -> [[Int32]] {
        texts.map { tokenizer.encode(prompt + $0, maxLength: maxSeqLength) }
    }

    /// Tokens of `prompt` at the start of every text, [CLS] included, as sentence-transformers counts them to
    /// leave them out of pooling (the prompt tokenized alone, less its [SEP]).
    public func promptLength(_ prompt: String) -> Int {
        prompt.isEmpty ? 0 : tokenizer.encode(prompt, maxLength: maxSeqLength).count - 1
    }

    /// Sentence embeddings of `texts` (normalized when the model ends in Normalize), in input order. For cosine
    /// scores of a model that does not end in Normalize, normalize them (`l2Normalized`).
    /// `progress` is told how many texts are done.
    public func embed(_ texts: [String], batchSize: Int = 32, prompt: Prompt = .modelDefault,
                      progress: ((Int) -> Void)? = nil) throws -> [[Float]] {
        let text = try promptText(prompt)
        return try embed(tokenized: tokenize(texts, prompt: text), batchSize: batchSize,
                         skip: pooling.includePrompt ? 0 : promptLength(text), progress: progress)
    }

    /// One batch: the encoder's fused mean-pool-and-normalize when that is what the model asks, else its
    /// last hidden states through the model's pooling (the first `skip` tokens left out).
    func embedBatch(_ batch: [[Int32]], skip: Int, using act: Activations?) throws -> [[Float]] {
        let full = try fullEmbeddings(batch, skip: skip, using: act)
        guard let truncateDim else { return full }
        return full.map { truncatedNormalized($0, truncateDim) }
    }

    private func fullEmbeddings(_ batch: [[Int32]], skip: Int, using act: Activations?) throws -> [[Float]] {
        if pooling.isNormalizedMean && skip == 0 {
            return try act.map { try encoder.embed(batch, using: $0) } ?? encoder.embed(batch)
        }
        let tokens = try act.map { try encoder.tokenEmbeddings(batch, using: $0) } ?? encoder.tokenEmbeddings(batch)
        return zip(batch, tokens).map { ids, t in pooling.pool(t, length: ids.count, dim: config.hidden, skip: skip) }
    }

    public func embed(tokenized: [[Int32]], batchSize: Int = 32, skip: Int = 0,
                      progress: ((Int) -> Void)? = nil) throws -> [[Float]] {
        // Before any work, so the error names the text in input order, not a row of some batch.
        if !config.isMosaic, let row = tokenized.firstIndex(where: { $0.count > config.maxPositionEmbeddings }) {
            throw EncoderError.sequenceTooLong(row: row, length: tokenized[row].count, maxPositions: config.maxPositionEmbeddings)
        }
        let order = tokenized.indices.sorted { tokenized[$0].count > tokenized[$1].count }
        let size = max(1, batchSize)
        let batches = stride(from: 0, to: order.count, by: size).map { Array(order[$0..<min(order.count, $0 + size)]) }
        var out = [[Float]](repeating: [], count: tokenized.count)
        var done = 0
        let pipelines = min(max(1, blasThreads()), batches.count)
        if pipelines <= 1 {
            for rows in batches {
                let embeddings = try embedBatch(rows.map { tokenized[$0] }, skip: skip, using: nil)
                for (row, embedding) in zip(rows, embeddings) { out[row] = embedding }
                done += rows.count
                progress?(done)
            }
            return out
        }
        // Whole batches run on separate threads, each with single-threaded BLAS and element-wise kernels:
        // a forward pass then never waits on another thread (OpenBLAS's per-call fork/join and the
        // element-wise splits cost ~25% of the time at these sizes), and each sgemm still sees a batch of rows.
        let savedBLAS = blasThreads(), savedCompute = computeThreads
        setBLASThreads(1)
        defer { setBLASThreads(savedBLAS); computeThreads = savedCompute }
        let buffers = (0..<pipelines).map { _ in Activations() }
        let lock = NSLock()
        var next = 0
        var failure: (batch: Int, error: Error)?
        DispatchQueue.concurrentPerform(iterations: pipelines) { worker in
            while true {
                lock.lock()
                let b = next
                next += 1
                let stop = failure != nil
                lock.unlock()
                if stop || b >= batches.count { return }
                let rows = batches[b]
                do {
                    let embeddings = try embedBatch(rows.map { tokenized[$0] }, skip: skip, using: buffers[worker])
                    lock.lock()
                    for (row, embedding) in zip(rows, embeddings) { out[row] = embedding }
                    done += rows.count
                    progress?(done)
                    lock.unlock()
                } catch {
                    lock.lock()
                    if failure == nil || b < failure!.batch { failure = (b, error) }
                    lock.unlock()
                }
            }
        }
        if let failure { throw failure.error }
        return out
    }

    /// Forward FLOPs of embedding these token lists: 2 per multiply-add in the dense layers
    /// (non-embedding parameters × tokens) plus QKᵀ and PV in attention (4 · L² · hidden per layer).
    public func forwardFLOPs(_ tokenized: [[Int32]]) -> Double {
        let c = config
        let perLayerDense = Double(c.hidden * 3 * c.hidden + c.hidden * c.hidden
                                   + (c.isMosaic ? 2 : 1) * c.hidden * c.intermediate + c.intermediate * c.hidden)
        var flops = 0.0
        for ids in tokenized {
            let L = Double(ids.count)
            flops += Double(c.layers) * (2 * perLayerDense * L + 4 * L * L * Double(c.hidden))
        }
        return flops
    }
}

/// The first `dim` values of `v`, divided by their L2 norm (at least 1e-12, as torch's F.normalize).
public func truncatedNormalized(_ v: [Float], _ dim: Int) -> [Float] {
    let head = v.prefix(dim)
    let norm = max(head.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1e-12)
    return head.map { $0 / norm }
}

/// Cosine similarity of two vectors (embeddings are normalized already, but stay honest).
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float {
    var dot: Float = 0, na: Float = 0, nb: Float = 0
    for i in 0..<min(a.count, b.count) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
    return dot / max((na * nb).squareRoot(), 1e-12)
}
