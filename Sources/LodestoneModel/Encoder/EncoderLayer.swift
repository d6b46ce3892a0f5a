// One post-LN transformer layer, forward and backward side by side:
//   qkv = x Wqkvᵀ + b → attention (ALiBi for MosaicBERT) → a = LN(attn Woᵀ + bo + x)
//   MosaicBERT: h = a Wgᵀ → gelu(h[:, :I]) · h[:, I:] → LN(· Wwoᵀ + bwo + a)
//   BERT:       h = a W1ᵀ + b1 → gelu(h) → LN(· W2ᵀ + b2 + a)
// Training may drop (as upstream's modules in train mode): the attention probabilities; the attention output
// projection before its residual; MosaicBERT's gated activation before Wwo, BERT's W2 output before its residual.
import LodestoneTensor

struct LayerContext {
    let config: EncoderConfig
    let batch: RaggedBatch
    let slopes: [Float]?
    let attentionScratch: UnsafeMutablePointer<Float>
    /// nil: nothing drops (inference, or training without dropout).
    var dropout: StepDropout? = nil
    /// The precision of every GEMM of the layer (LayerNorm, softmax, activations and dropout stay fp32).
    var precision: MatmulPrecision = .fp32
    /// False when the activations kept neither the feed-forward input nor the attention output
    /// (`Activations.keepsRecomputable`): backward runs the up-projection GEMM and the attention forward again.
    var recomputableKept = true
    /// Called between the backward's GEMMs: lets gradient sums in flight progress (OverlappedGradientSum).
    var progress: (() -> Void)? = nil
    /// The bf16 copies of the layer's weights (bf16 only; nil: pack at each product).
    var packedWeights: BF16WeightCache? = nil
    var attentionShape: AttentionShape { AttentionShape(heads: config.heads, headDim: config.headDim, precision: precision) }
}

/// The dropout of one training step: the rates that are not zero, and the step's seed, from which every site's
/// mask follows (so a step is reproducible from its seed alone).
struct StepDropout {
    let hidden: DropoutRate?
    let attention: DropoutRate?
    let seed: UInt64
    /// Where this batch's rows start in the step's whole batch: tokens before its first row, and attention
    /// probabilities (Σ heads · L²) before it. A mini-batch then draws the masks the whole batch would.
    var tokenOffset = 0
    var probabilityOffset = 0

    enum Site: Int { case embeddings, attentionProbabilities, attentionOutput, feedForward }

    /// nil when both rates are zero: then the step runs exactly the code (and gives the bits) of no dropout.
    init?(rates: DropoutRates, seed: UInt64) {
        guard rates.hidden > 0 || rates.attention > 0 else { return nil }
        hidden = rates.hidden > 0 ? DropoutRate(rates.hidden) : nil
        attention = rates.attention > 0 ? DropoutRate(rates.attention) : nil
        self.seed = seed
    }

    /// The stream of one site (`layer` −1: the embeddings).
    func key(layer: Int, _ site: Site) -> UInt64 { dropoutKey(seed: seed, layer, site.rawValue) }

    func attention(layer: Int) -> AttentionDropout? {
        attention.map { AttentionDropout(rate: $0, key: key(layer: layer, .attentionProbabilities), offset: probabilityOffset) }
    }

    /// Hidden dropout of x[tokens, width] at a site, keeping the mask bits.
    func forward(_ x: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<UInt64>?, tokens: Int, width: Int,
                 layer: Int, _ site: Site) {
        guard let hidden else { return }
        dropoutForward(x, mask: mask!, count: tokens * width, rate: hidden, key: key(layer: layer, site),
                       start: tokenOffset * width)
    }
}

func encoderLayerForward(_ ctx: LayerContext, params p: UnsafeMutablePointer<Float>, offsets o: LayerOffsets,
                         input x: UnsafePointer<Float>, act a: LayerActivations, layer l: Int) {
    let c = ctx.config, T = ctx.batch.tokenCount, H = c.hidden, I = c.intermediate, drop = ctx.dropout
    linearForward(a.qkv, x, p + o.qkvWeight, p + o.qkvBias, rows: T, inDim: H, outDim: 3 * H, precision: ctx.precision, packedWeights: ctx.packedWeights)
    attentionForward(a.attention, qkv: a.qkv, logSumExp: a.logSumExp, scratch: ctx.attentionScratch, batch: ctx.batch,
                     shape: ctx.attentionShape, alibiSlopes: ctx.slopes, dropout: drop?.attention(layer: l))
    linearForward(a.attentionSum, a.attention, p + o.attentionOutWeight, p + o.attentionOutBias, rows: T, inDim: H, outDim: H, precision: ctx.precision, packedWeights: ctx.packedWeights)
    drop?.forward(a.attentionSum, mask: a.attentionOutputMask, tokens: T, width: H, layer: l, .attentionOutput)
    layerNormForward(a.attentionNormed, mean: a.attentionMean, rstd: a.attentionRstd, x: a.attentionSum, residual: x,
                     weight: p + o.attentionNormWeight, bias: p + o.attentionNormBias, rows: T, dim: H, eps: c.layerNormEps)
    if c.isMosaic {
        linearForward(a.ffnIn, a.attentionNormed, p + o.ffnInWeight, nil, rows: T, inDim: H, outDim: 2 * I, precision: ctx.precision, packedWeights: ctx.packedWeights)
        gatedGeluForward(a.ffnAct, a.ffnIn, rows: T, inner: I)
        drop?.forward(a.ffnAct, mask: a.feedForwardMask, tokens: T, width: I, layer: l, .feedForward)
    } else {
        linearForward(a.ffnIn, a.attentionNormed, p + o.ffnInWeight, p + o.ffnInBias!, rows: T, inDim: H, outDim: I, precision: ctx.precision, packedWeights: ctx.packedWeights)
        geluForward(a.ffnAct, a.ffnIn, count: T * I)
    }
    linearForward(a.ffnSum, a.ffnAct, p + o.ffnOutWeight, p + o.ffnOutBias, rows: T, inDim: I, outDim: H, precision: ctx.precision, packedWeights: ctx.packedWeights)
    if !c.isMosaic { drop?.forward(a.ffnSum, mask: a.feedForwardMask, tokens: T, width: H, layer: l, .feedForward) }
    layerNormForward(a.output, mean: a.ffnMean, rstd: a.ffnRstd, x: a.ffnSum, residual: a.attentionNormed,
                     weight: p + o.ffnNormWeight, bias: p + o.ffnNormBias, rows: T, dim: H, eps: c.layerNormEps)
}

/// Layer `l`'s output again (into the shared `output` buffer) from its kept sum and statistics: the next layer's
/// backward needs it as its input.
func recomputeLayerOutput(_ ctx: LayerContext, params p: UnsafeMutablePointer<Float>, offsets o: LayerOffsets, act a: LayerActivations) {
    layerNormRecompute(a.output, x: a.ffnSum, mean: a.ffnMean, rstd: a.ffnRstd, weight: p + o.ffnNormWeight,
                       bias: p + o.ffnNormBias, rows: ctx.batch.tokenCount, dim: ctx.config.hidden)
}

/// On entry s.dX holds d(output); on return it holds d(input). `input` must hold the layer's input (for a layer
/// past the first, `recomputeLayerOutput` of the one before); when `ctx.recomputableKept` is false, `a.ffnIn` is
/// `s.dFfnIn` and `a.attention` a shared buffer, both rebuilt here. Parameter grads are accumulated into g.
/// Each LayerNorm backward runs in place on dX, which then is the residual branch's gradient; the other
/// branch's input gradient is added to it by its first linear layer's backward (accumulateInput).
/// A dropout before a residual add masks the branch's gradient into dSum, leaving dX for the residual.
func encoderLayerBackward(_ ctx: LayerContext, params p: UnsafeMutablePointer<Float>, grads g: UnsafeMutablePointer<Float>,
                          offsets o: LayerOffsets, input x: UnsafePointer<Float>, act a: LayerActivations,
                          scratch s: GradientScratch, layer l: Int) {
    let c = ctx.config, T = ctx.batch.tokenCount, H = c.hidden, I = c.intermediate
    let hidden = ctx.dropout?.hidden
    /// d(branch output) from d(residual sum): dX itself, or dX through the branch's dropout mask.
    func branchGradient(mask: UnsafeMutablePointer<UInt64>?) -> UnsafeMutablePointer<Float> {
        guard let hidden else { return s.dX }
        dropoutBackward(dx: s.dSum, dout: s.dX, mask: mask!, count: T * H, rate: hidden)
        return s.dSum
    }
    // Feed-forward block. Its input (the attention block's LayerNorm output) and activation buffers are shared
    // by all layers: recompute this layer's, with the kept dropout mask (the forward pass's arithmetic, so its bits).
    layerNormBackward(dx: s.dX, dweight: g + o.ffnNormWeight, dbias: g + o.ffnNormBias, dout: s.dX,
                      x: a.ffnSum, mean: a.ffnMean, rstd: a.ffnRstd, weight: p + o.ffnNormWeight, rows: T, dim: H)
    layerNormRecompute(a.attentionNormed, x: a.attentionSum, mean: a.attentionMean, rstd: a.attentionRstd,
                       weight: p + o.attentionNormWeight, bias: p + o.attentionNormBias, rows: T, dim: H)
    if !ctx.recomputableKept {
        linearForward(a.ffnIn, a.attentionNormed, p + o.ffnInWeight, c.isMosaic ? nil : p + o.ffnInBias!, rows: T, inDim: H,
                      outDim: c.isMosaic ? 2 * I : I, precision: ctx.precision, packedWeights: ctx.packedWeights)
    }
    if c.isMosaic {
        gatedGeluForward(a.ffnAct, a.ffnIn, rows: T, inner: I)
        if let hidden { dropoutBackward(dx: a.ffnAct, dout: a.ffnAct, mask: a.feedForwardMask!, count: T * I, rate: hidden) }
    } else {
        geluForward(a.ffnAct, a.ffnIn, count: T * I)
    }
    linearBackward(dinp: s.dFfnAct, dweight: g + o.ffnOutWeight, dbias: g + o.ffnOutBias,
                   dout: c.isMosaic ? s.dX : branchGradient(mask: a.feedForwardMask),
                   inp: a.ffnAct, weight: p + o.ffnOutWeight, rows: T, inDim: I, outDim: H, precision: ctx.precision, packedWeights: ctx.packedWeights)
    ctx.progress?()
    if c.isMosaic {
        if let hidden { dropoutBackward(dx: s.dFfnAct, dout: s.dFfnAct, mask: a.feedForwardMask!, count: T * I, rate: hidden) }
        gatedGeluBackward(dinp: s.dFfnIn, dout: s.dFfnAct, inp: a.ffnIn, rows: T, inner: I)
        linearBackward(dinp: s.dX, dweight: g + o.ffnInWeight, dbias: nil, dout: s.dFfnIn, inp: a.attentionNormed,
                       weight: p + o.ffnInWeight, rows: T, inDim: H, outDim: 2 * I, accumulateInput: true, precision: ctx.precision, packedWeights: ctx.packedWeights)
        ctx.progress?()
    } else {
        geluBackward(dinp: s.dFfnIn, dout: s.dFfnAct, inp: a.ffnIn, count: T * I)
        linearBackward(dinp: s.dX, dweight: g + o.ffnInWeight, dbias: g + o.ffnInBias!, dout: s.dFfnIn,
                       inp: a.attentionNormed, weight: p + o.ffnInWeight, rows: T, inDim: H, outDim: I, accumulateInput: true, precision: ctx.precision, packedWeights: ctx.packedWeights)
        ctx.progress?()
    }
    // Attention block, same pattern.
    layerNormBackward(dx: s.dX, dweight: g + o.attentionNormWeight, dbias: g + o.attentionNormBias, dout: s.dX,
                      x: a.attentionSum, mean: a.attentionMean, rstd: a.attentionRstd, weight: p + o.attentionNormWeight,
                      rows: T, dim: H)
    if !ctx.recomputableKept {   // the forward's own call on the same q, k, v and dropout key: the same bits
        attentionForward(a.attention, qkv: a.qkv, logSumExp: a.logSumExp, scratch: ctx.attentionScratch, batch: ctx.batch,
                         shape: ctx.attentionShape, alibiSlopes: ctx.slopes, dropout: ctx.dropout?.attention(layer: l))
    }
    linearBackward(dinp: s.dAttention, dweight: g + o.attentionOutWeight, dbias: g + o.attentionOutBias,
                   dout: branchGradient(mask: a.attentionOutputMask),
                   inp: a.attention, weight: p + o.attentionOutWeight, rows: T, inDim: H, outDim: H, precision: ctx.precision, packedWeights: ctx.packedWeights)
    ctx.progress?()
    attentionBackward(dqkv: s.dQKV, dout: s.dAttention, qkv: a.qkv, out: a.attention, logSumExp: a.logSumExp!,
                      scratch: ctx.attentionScratch,
                      batch: ctx.batch, shape: ctx.attentionShape, alibiSlopes: ctx.slopes,
                      dropout: ctx.dropout?.attention(layer: l))
    ctx.progress?()
    linearBackward(dinp: s.dX, dweight: g + o.qkvWeight, dbias: g + o.qkvBias, dout: s.dQKV, inp: x,
                   weight: p + o.qkvWeight, rows: T, inDim: H, outDim: 3 * H, accumulateInput: true, precision: ctx.precision, packedWeights: ctx.packedWeights)
}
