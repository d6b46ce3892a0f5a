// The trainable encoder: one training step of a SentenceEncoder with an EmbeddingLoss (Losses/), llm.c style.
// Gradients and AdamW moments are flat buffers in the parameter layout; forward, loss, backward, clipping and
// the update are plain loops and sgemm calls over them, and the state moves in and out by memcpy.
//   let trainer = EncoderTrainer(encoder: enc)
//   let r = try trainer.trainStep(columns: [anchors, positives, negatives], learningRate: lr)
import Foundation
import LodestoneBase
import LodestoneTensor

public final class EncoderTrainer {
    public let encoder: SentenceEncoder
    /// The directory the encoder was read from, without its weights: what `saveModelDirectory` writes around
    /// the trained ones. nil for an encoder built in memory.
    public let template: SentenceTransformerDirectory?
    /// The objective over the step's embeddings; the step's strategies (cached passes, all-gather, dropout) serve any.
    public var loss: any EmbeddingLoss
    public var adamW: AdamWConfig
    public var maxGradNorm: Float?
    /// Dropout while training (`.none`: exactly the arithmetic of a model without dropout). Each step's masks
    /// follow from the `dropoutSeed` it is given.
    public var dropout: DropoutRates
    /// Gradients of the last `computeGradients`, in the parameter layout.
    public let gradients: UnsafeMutablePointer<Float>
    public let adamM: UnsafeMutablePointer<Float>
    public let adamV: UnsafeMutablePointer<Float>
    /// Number of optimizer steps taken (AdamW's t; bias correction uses step + 1 on the next update).
    public private(set) var optimizerStep = 0
    /// The guide model of a loss that `needsGuide` (GIST): it embeds the step's texts, without activations, each
    /// rank its own rows, all-gathered like the model's embeddings.
    public var guide: SentenceModel?
    /// How a step may split its batch (cached MNRL); by default never.
    public var batching = MiniBatching()
    /// The ranks that share each step (data-parallel training); one process by default.
    public var collective: Collective = SingleProcess()
    /// How the ranks' gradients are summed: by default the plain all-reduce after backward; `.overlapped` sends
    /// each layer's as its backward ends (the two agree: each element is the same sum over ranks). Measured on 2
    /// local ranks, overlap hid nothing (this Open MPI progresses only inside MPI calls) and cost 8 % (README).
    public var gradientSum = GradientSum.blocking
    /// How each step's rows are divided among the ranks (see SliceBalance).
    public var sliceBalance = SliceBalance.cost
    /// Under `.overlapped`, layers join one all-reduce until it holds this many floats.
    public var gradientBucketFloats: Int {
        get { overlap.minimumFloats }
        set { overlap.minimumFloats = max(1, newValue) }
    }
    /// Buckets the last step's gradient sum started (0 for one process or `.blocking`).
    public var lastStepBuckets: Int { overlapUsed ? overlap.bucketsStarted : 0 }
    /// Called after each pass with activations of a step split into several (done, total): a step of a large
    /// batch can take minutes.
    public var passFinished: ((_ done: Int, _ total: Int) -> Void)?
    /// Passes the last step made: embedding passes without activations (0 when the batch fit one pass) and
    /// passes with activations.
    public private(set) var lastStepPasses = (embedding: 0, training: 0)
    /// Whether the last step's backward recomputed the feed-forward inputs and attention outputs (`MemoryPlan`).
    public private(set) var lastStepRecomputed = false
    private let act = Activations()
    private let buffers = StepBuffers()
    private var guideEmbeddings: [Float] = [], guideSend: [Float] = []
    private var decayRanges: [(offset: Int, count: Int, decay: Bool)] = []
    private var lastGradNorm: Float = 0
    private let overlap = OverlappedGradientSum()
    private var overlapUsed = false
    /// Each rank's speed (row cost per second of its compute) over the last steps, the same on every rank;
    /// empty until a step under `.measured` has shared them.
    private var rankSpeeds: [Double] = []

    public init(encoder: SentenceEncoder, template: SentenceTransformerDirectory? = nil,
                loss: any EmbeddingLoss = MultipleNegativesRankingLoss(), adamW: AdamWConfig = .init(), maxGradNorm: Float? = 1.0,
                dropout: DropoutRates = .none) {
        precondition((0..<1).contains(dropout.hidden) && (0..<1).contains(dropout.attention), "dropout \(dropout) outside [0, 1)")
        self.encoder = encoder
        self.dropout = dropout
        self.template = template
        self.loss = loss
        self.adamW = adamW
        self.maxGradNorm = maxGradNorm
        let n = encoder.parameterCount
        gradients = .allocate(capacity: n); gradients.initialize(repeating: 0, count: n)
        adamM = .allocate(capacity: n); adamM.initialize(repeating: 0, count: n)
        adamV = .allocate(capacity: n); adamV.initialize(repeating: 0, count: n)
    }

    /// The encoder of a sentence-transformers directory (as 03 writes it); `saveModelDirectory` writes it back.
    public convenience init(directory: SentenceTransformerDirectory, loss: any EmbeddingLoss = MultipleNegativesRankingLoss(),
                            adamW: AdamWConfig = .init(), maxGradNorm: Float? = 1.0, dropout: DropoutRates = .none) throws {
        let encoder = try SentenceEncoder(config: directory.config,
                                          weights: Dictionary(directory.weights, uniquingKeysWith: { a, _ in a }))
        var template = directory
        template.weights = []   // the encoder holds them; a second copy would double the model's memory
        self.init(encoder: encoder, template: template, loss: loss, adamW: adamW, maxGradNorm: maxGradNorm, dropout: dropout)
    }

    deinit { gradients.deallocate(); adamM.deallocate(); adamV.deallocate() }

    public var parameterCount: Int { encoder.parameterCount }

    /// Forward + loss + backward for one batch. columns[0] anchors, columns[1] positives, columns[2...]
    /// hard negatives; row i of each column belongs together. Overwrites `gradients`. With `dropout`, the
    /// masks are a function of `dropoutSeed` alone (the trainer derives it from its seed and the step number),
    /// and of each element's place in the whole batch, so however the batch is split the masks are the same.
    ///
    /// When this rank's texts fit one pass with activations (`batching`), that is all: forward, loss, backward.
    /// Otherwise the step is cached (GradCache, as cached MNRL): embed every text in passes without activations, take the loss and
    /// its gradient with respect to the embeddings, then recompute mini-batch by mini-batch with activations and
    /// backpropagate. Under `collective` each rank encodes a slice, the embeddings are all-gathered (the loss
    /// sees the whole batch's negatives) and the gradients summed: every rank ends with the same gradients.
    /// `guideColumns`: the same texts tokenized for `guide` (when the loss `needsGuide`; nil: `columns`, for a
    /// guide sharing the model's vocabulary).
    public func computeGradients(columns: [[[Int32]]], guideColumns: [[[Int32]]]? = nil, dropoutSeed: UInt64 = 0) throws -> StepResult {
        guard columns.count >= loss.minimumColumns else {
            throw EncoderError.badBatch(reason: "the loss needs at least \(loss.minimumColumns) columns, got \(columns.count)")
        }
        let B = columns[0].count
        guard B > 0 else { throw EncoderError.badBatch(reason: "empty batch") }
        for (c, col) in columns.enumerated() where col.count != B {
            throw EncoderError.badBatch(reason: "column \(c) has \(col.count) rows, column 0 has \(B)")
        }
        let enc = encoder, H = enc.config.hidden
        let rows = columns.flatMap { $0 }
        let whole = try enc.validate(rows)
        let step = StepBatch(rows: rows, whole: whole, heads: enc.config.heads,
                             dropout: StepDropout(rates: dropout, seed: dropoutSeed))
        let rowCost = RowCost(config: enc.config)
        let costs = whole.lengths.map { rowCost($0) }
        let measured = sliceBalance == .measured && rankSpeeds.count == collective.size
        let slices = rankSlices(costs: costs, weights: measured ? rankSpeeds : Array(repeating: 1, count: collective.size))
        let mine = slices[collective.rank]
        let clock = ComputeClock()
        let plan = memoryPlan(whole: whole, anchors: B, columns: columns.count)
        let passes = plan.miniBatches(lengths: whole.lengths, range: mine)
        buffers.prepare(rows: rows.count, dim: H, scratch: loss.scratchCount(LossBatch(anchors: B, columns: columns.count, dim: H)))
        gradients.update(repeating: 0, count: enc.parameterCount)
        // The parameters may have been written since the last step (by a caller, or a collective's broadcast):
        // bf16 copies of the weights are made afresh, once, on their first use in this step.
        enc.parametersChanged()

        // One pass: its activations from the embedding forward serve the backward. Several: embed without
        // activations first, then recompute each pass with them.
        let cached = passes.training.count > 1
        lastStepPasses = (cached ? passes.inference.count : 0, passes.training.count)
        let recompute = plan.recomputeInBackward
        lastStepRecomputed = recompute
        for r in cached ? passes.inference : passes.training { encode(step, r, training: !cached, recomputeInBackward: recompute) }
        clock.pause()
        try gatherEmbeddings(slices: slices)
        let guided = loss.needsGuide ? try embedWithGuide((guideColumns ?? columns).flatMap { $0 }, whole: whole, slices: slices) : nil
        let lossValue = lossAndEmbeddingGradients(anchors: B, columns: columns.count, guideDim: guided)
        // Gradients are final only in the last pass: its layers' sums start as its backward goes.
        overlapUsed = gradientSum == .overlapped && collective.size > 1
        clock.resume()
        for (i, r) in passes.training.enumerated() {
            if cached { encode(step, r, training: true, recomputeInBackward: recompute) }
            let last = i + 1 == passes.training.count
            if last && overlapUsed { overlap.begin(collective: collective, gradients: gradients) }
            backward(step, r, overlap: last && overlapUsed ? overlap : nil)
            if cached { passFinished?(i + 1, passes.training.count) }
        }
        clock.pause()
        let result = try finishGradients(loss: lossValue, rows: rows)
        if sliceBalance == .measured && collective.size > 1 {
            try shareSpeeds(cost: mine.reduce(0.0) { $0 + costs[$1] }, seconds: clock.seconds)
        }
        return result
    }

    /// Every rank's speed on this step (its slice's cost over its compute seconds), gathered, folded into
    /// `rankSpeeds` (half the last step, half the ones before: one noisy step does not swing the slices). A rank
    /// without rows this step measured nothing: it keeps its speed (or, before any, the others' mean).
    private func shareSpeeds(cost: Double, seconds: Double) throws {
        let size = collective.size
        let mine: [Float] = [cost > 0 ? Float(cost / max(seconds, 1e-6)) : 0]
        var all = [Float](repeating: 0, count: size)
        try all.withUnsafeMutableBufferPointer { try collective.allGather(mine, into: $0.baseAddress!, counts: Array(repeating: 1, count: size)) }
        let measured = all.filter { $0 > 0 }.map(Double.init)
        guard !measured.isEmpty else { return }
        let mean = measured.reduce(0, +) / Double(measured.count)
        let known = rankSpeeds.count == size
        rankSpeeds = (0..<size).map { r in
            let speed = all[r] > 0 ? Double(all[r]) : (known ? rankSpeeds[r] : mean)
            return known ? 0.5 * rankSpeeds[r] + 0.5 * speed : speed
        }
    }

    /// The memory plan of a batch under `batching`. bf16 adds the packed weight copies: two forms (forward and
    /// backward) of every layer weight at 2 bytes a value (the layers' biases and LayerNorms counted too: a few
    /// hundredths more than needed).
    public func memoryPlan(whole: RaggedBatch, anchors: Int, columns: Int) -> MemoryPlan {
        var counted = batching
        if encoder.precision == .bf16 { counted.otherBytes += 2 * 2 * (parameterCount - encoder.layout.embeddingParameterCount) }
        return MemoryPlan(config: encoder.config, parameterCount: parameterCount, batching: counted, longest: whole.maxLength,
                          rows: whole.count, tokens: whole.tokenCount, anchors: anchors, columns: columns, loss: loss,
                          dropout: dropout.hidden > 0)
    }

    /// Forward over rows `r` of the step; their embeddings go to the step's embedding matrix. `training` keeps
    /// every layer's activations (and dropout masks) for `backward`; `recomputeInBackward` (the memory plan's
    /// choice) leaves the feed-forward inputs for backward to rebuild.
    private func encode(_ step: StepBatch, _ r: Range<Int>, training: Bool, recomputeInBackward: Bool) {
        let enc = encoder, H = enc.config.hidden
        let batch = step.slice(r)
        act.prepare(config: enc.config, batch: batch.ragged, training: training, dropoutMasks: batch.dropout?.hidden != nil,
                    recomputeInBackward: recomputeInBackward)
        enc.forward(batch.rows, ragged: batch.ragged, act: act, dropout: batch.dropout)
        (buffers.embeddings + r.lowerBound * H).update(from: act.sentenceEmbeddings, count: r.count * H)
    }

    /// Backward over rows `r`, whose activations `encode(…, training: true)` left in `act`, from their
    /// embedding gradients; parameter gradients accumulate.
    /// `overlap`: the layers' gradient sums start as each is done.
    private func backward(_ step: StepBatch, _ r: Range<Int>, overlap: OverlappedGradientSum?) {
        let enc = encoder, c = enc.config, H = c.hidden, p = enc.parameters, g = gradients
        let batch = step.slice(r), ragged = batch.ragged, T = ragged.tokenCount, drop = batch.dropout
        let s = act.scratch!
        meanPoolNormalizeBackward(dx: s.dX, dout: buffers.embeddingGradients + r.lowerBound * H, out: act.sentenceEmbeddings,
                                  norms: act.norms, batch: ragged, dim: H, scratch: s.poolScratch)
        var ctx = enc.layerContext(batch: ragged, scratch: act.attentionScratch, dropout: drop)
        ctx.recomputableKept = act.keepsRecomputable
        ctx.progress = overlap.map { o in { o.progress() } }
        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            var input = act.embeddingOutput!
            if l > 0 {
                recomputeLayerOutput(ctx, params: p, offsets: enc.layout.layers[l - 1], act: act.layer(l - 1))
                input = act.layer(l - 1).output
            }
            encoderLayerBackward(ctx, params: p, grads: g, offsets: enc.layout.layers[l], input: input,
                                 act: act.layer(l), scratch: s, layer: l)
            overlap?.layerDone(enc.layout.layerRange(l), last: l == 0)
        }
        if let hidden = drop?.hidden {
            dropoutBackward(dx: s.dX, dout: s.dX, mask: act.embeddingMask!, count: T * H, rate: hidden)
        }
        let e = enc.layout.embeddings
        layerNormBackward(dx: s.dSum, dweight: g + e.normWeight, dbias: g + e.normBias, dout: s.dX, x: act.embeddingSum,
                          mean: act.embeddingMean, rstd: act.embeddingRstd, weight: p + e.normWeight, rows: T, dim: H)
        embeddingBackward(dword: g + e.word, dtokenType: g + e.tokenType, dposition: e.position.map { g + $0 },
                          dout: s.dSum, ids: act.ids, batch: ragged, dim: H)
    }

    /// Every rank's slice of the embedding matrix, to every rank.
    private func gatherEmbeddings(slices: [Range<Int>]) throws {
        let H = encoder.config.hidden, mine = slices[collective.rank]
        guard collective.size > 1 else { return }
        let counts = slices.map { $0.count * H }
        buffers.send.update(from: buffers.embeddings + mine.lowerBound * H, count: mine.count * H)
        try collective.allGather(buffers.send, into: buffers.embeddings, counts: counts)
    }

    /// The guide's embeddings of every row into `guideEmbeddings`, unit rows (the loss takes cosines): this rank's
    /// rows embedded, then all-gathered. Returns their width.
    private func embedWithGuide(_ rows: [[Int32]], whole: RaggedBatch, slices: [Range<Int>]) throws -> Int {
        let mine = slices[collective.rank]
        guard let guide else { throw EncoderError.badBatch(reason: "the loss needs a guide model and none was given") }
        guard rows.count == whole.count else {
            throw EncoderError.badBatch(reason: "the guide's batch has \(rows.count) rows, the model's \(whole.count)")
        }
        let G = guide.dimension
        guideEmbeddings = [Float](repeating: 0, count: rows.count * G)
        guideSend = try guide.embed(tokenized: Array(rows[mine]), batchSize: max(1, mine.count)).flatMap { $0 }
        guideSend.withUnsafeMutableBufferPointer { g in
            for r in 0..<mine.count { _ = normalizePrefix(g.baseAddress! + r * G, G, into: g.baseAddress! + r * G) }
        }
        let counts = slices.map { $0.count * G }
        try guideSend.withUnsafeBufferPointer { send in
            try guideEmbeddings.withUnsafeMutableBufferPointer { all in
                try collective.allGather(send.baseAddress!, into: all.baseAddress!, counts: counts)
            }
        }
        return G
    }

    /// The loss over the whole batch's embeddings; their gradients go to `buffers.embeddingGradients`.
    private func lossAndEmbeddingGradients(anchors: Int, columns: Int, guideDim: Int?) -> Float {
        let batch = LossBatch(anchors: anchors, columns: columns, dim: encoder.config.hidden)
        return guideEmbeddings.withUnsafeBufferPointer { g in
            loss.lossAndGradient(embeddings: buffers.embeddings, gradients: buffers.embeddingGradients, scratch: buffers.scratch,
                                 batch: batch, guide: guideDim.map { GuideEmbeddings(values: g.baseAddress!, dim: $0) })
        }
    }

    /// Sums the ranks' gradients (or completes the overlapped sum) and takes their norm.
    private func finishGradients(loss: Float, rows: [[Int32]]) throws -> StepResult {
        if overlapUsed {
            let used = Set(rows.lazy.joined().map { Int($0) }).sorted()
            try overlap.finish(layout: encoder.layout, usedTokens: used, dim: encoder.config.hidden)
        } else {
            try collective.allReduceSum(gradients, count: parameterCount)
        }
        lastGradNorm = globalNorm(gradients, count: parameterCount)
        return StepResult(loss: loss, gradNorm: lastGradNorm)
    }

    /// Clips the gradients to `maxGradNorm` (if set) and applies one AdamW update at `learningRate`.
    public func applyGradients(learningRate: Float) {
        if let maxGradNorm { clipGradNorm(gradients, count: parameterCount, maxNorm: maxGradNorm, norm: lastGradNorm) }
        if decayRanges.isEmpty {
            decayRanges = encoder.layout.entries.map { ($0.offset, $0.count, adamW.decays($0.name)) }
        }
        optimizerStep += 1
        let a = adamW
        for r in decayRanges {
            adamWUpdate(params: encoder.parameters + r.offset, grads: gradients + r.offset, m: adamM + r.offset,
                        v: adamV + r.offset, count: r.count, lr: learningRate, beta1: a.beta1, beta2: a.beta2,
                        eps: a.eps, weightDecay: r.decay ? a.weightDecay : 0, step: optimizerStep)
        }
        encoder.parametersChanged()   // an embed between steps (evaluation) must see the new weights
    }

    /// computeGradients, then clip and AdamW. Returns the loss and the norm before clipping. A non-finite step
    /// is reported without being applied: it would poison AdamW's moments.
    @discardableResult
    public func trainStep(columns: [[[Int32]]], learningRate: Float, dropoutSeed: UInt64 = 0) throws -> StepResult {
        try trainStep(columns: columns, guideColumns: nil, learningRate: learningRate, dropoutSeed: dropoutSeed)
    }

    /// trainStep with the step's texts tokenized for the guide (see `computeGradients`).
    @discardableResult
    public func trainStep(columns: [[[Int32]]], guideColumns: [[[Int32]]]?, learningRate: Float, dropoutSeed: UInt64 = 0) throws -> StepResult {
        let r = try computeGradients(columns: columns, guideColumns: guideColumns, dropoutSeed: dropoutSeed)
        if r.isFinite { applyGradients(learningRate: learningRate) }
        return r
    }

    /// Gradient of one parameter (upstream name), for tests and inspection.
    public func gradient(named name: String) -> TensorData? {
        guard let e = encoder.layout.entry(named: name) else { return nil }
        return TensorData(shape: e.shape, values: Array(UnsafeBufferPointer(start: gradients + e.offset, count: e.count)))
    }

    // MARK: state (checkpoints and their rollback, a fresh optimizer)

    /// A fresh optimizer, as each of the original's `fit` calls built: moments zeroed in place, step 0.
    public func resetOptimizer() {
        adamM.update(repeating: 0, count: parameterCount)
        adamV.update(repeating: 0, count: parameterCount)
        optimizerStep = 0
    }

    /// Copies parameters, moments and step into `state` (memcpy; its arrays are reused when they fit).
    public func exportState(into state: inout ModelTrainingState) {
        state.copy(parameters: encoder.parameters, firstMoments: adamM, secondMoments: adamV,
                   count: parameterCount, optimizerStep: optimizerStep)
    }

    /// Puts back what `exportState` copied (memcpy): the parameters and the optimizer exactly as they were.
    public func importState(_ state: ModelTrainingState) throws {
        guard state.count == parameterCount else {
            throw EncoderError.shapeMismatch(name: "training state", expected: [parameterCount], found: [state.parameters.count])
        }
        state.copy(toParameters: encoder.parameters, firstMoments: adamM, secondMoments: adamV)
        encoder.parametersChanged()
        optimizerStep = state.optimizerStep
    }

    /// Lends the parameters, moments and step in place (checkpoints stream from and into them, without a copy).
    public func withTrainingState<R>(_ body: (inout TrainingStateView) throws -> R) rethrows -> R {
        let n = parameterCount
        var view = TrainingStateView(parameters: .init(start: encoder.parameters, count: n), firstMoments: .init(start: adamM, count: n),
                                     secondMoments: .init(start: adamV, count: n), optimizerStep: optimizerStep)
        defer { optimizerStep = view.optimizerStep; encoder.parametersChanged() }   // the body may load parameters
        return try body(&view)
    }

    /// Writes the model as a sentence-transformers directory: the one it was read from, with the trained weights.
    public func saveModelDirectory(to url: URL) throws {
        guard var out = template else {
            throw InputError(file: url.path, reason: "cannot write a model directory: this encoder was not read from one")
        }
        out.streamedWeights = encoder.streamedWeights()   // from the parameters: no 4-byte-a-parameter copy
        if let m = loss as? MatryoshkaLoss { out.matryoshkaDims = m.dims }
        try withExtendedLifetime(encoder) { try out.write(to: url) }
    }
}
