// One post-LN transformer layer, forward and backward side by side:
//   qkv = x Wqkvᵀ + b → attention (ALiBi for MosaicBERT) → a = LN(attn Woᵀ + bo + x)
//   MosaicBERT: h = a Wgᵀ → gelu(h[:, :I]) · h[:, I:] → LN(· Wwoᵀ + bwo + a)
//   BERT:       h = a W1ᵀ + b1 → gelu(h) → LN(· W2ᵀ + b2 + a)
import LodestoneTensor

struct LayerContext {
    let config: EncoderConfig
    let batch: RaggedBatch
    let slopes: [Float]?
    let attentionScratch: UnsafeMutablePointer<Float>
    var attentionShape: AttentionShape { AttentionShape(heads: config.heads, headDim: config.headDim) }
}

func encoderLayerForward(_ ctx: LayerContext, params p: UnsafeMutablePointer<Float>, offsets o: LayerOffsets,
                         input x: UnsafePointer<Float>, act a: LayerActivations) {
    let c = ctx.config, T = ctx.batch.tokenCount, H = c.hidden, I = c.intermediate
    linearForward(a.qkv, x, p + o.qkvWeight, p + o.qkvBias, rows: T, inDim: H, outDim: 3 * H)
    attentionForward(a.attention, qkv: a.qkv, scratch: ctx.attentionScratch, batch: ctx.batch,
                     shape: ctx.attentionShape, alibiSlopes: ctx.slopes)
    linearForward(a.attentionSum, a.attention, p + o.attentionOutWeight, p + o.attentionOutBias, rows: T, inDim: H, outDim: H)
    layerNormForward(a.attentionNormed, mean: a.attentionMean, rstd: a.attentionRstd, x: a.attentionSum, residual: x,
                     weight: p + o.attentionNormWeight, bias: p + o.attentionNormBias, rows: T, dim: H, eps: c.layerNormEps)
    if c.isMosaic {
        linearForward(a.ffnIn, a.attentionNormed, p + o.ffnInWeight, nil, rows: T, inDim: H, outDim: 2 * I)
        gatedGeluForward(a.ffnAct, a.ffnIn, rows: T, inner: I)
    } else {
        linearForward(a.ffnIn, a.attentionNormed, p + o.ffnInWeight, p + o.ffnInBias!, rows: T, inDim: H, outDim: I)
        geluForward(a.ffnAct, a.ffnIn, count: T * I)
    }
    linearForward(a.ffnSum, a.ffnAct, p + o.ffnOutWeight, p + o.ffnOutBias, rows: T, inDim: I, outDim: H)
    layerNormForward(a.output, mean: a.ffnMean, rstd: a.ffnRstd, x: a.ffnSum, residual: a.attentionNormed,
                     weight: p + o.ffnNormWeight, bias: p + o.ffnNormBias, rows: T, dim: H, eps: c.layerNormEps)
}

/// On entry s.dX holds d(output); on return it holds d(input). Parameter grads are accumulated into g.
/// Each LayerNorm backward runs in place on dX, which then is the residual branch's gradient; the other
/// branch's input gradient is added to it by its first linear layer's backward (accumulateInput).
func encoderLayerBackward(_ ctx: LayerContext, params p: UnsafeMutablePointer<Float>, grads g: UnsafeMutablePointer<Float>,
                          offsets o: LayerOffsets, input x: UnsafePointer<Float>, act a: LayerActivations,
                          scratch s: GradientScratch) {
    let c = ctx.config, T = ctx.batch.tokenCount, H = c.hidden, I = c.intermediate
    // Feed-forward block.
    layerNormBackward(dx: s.dX, dweight: g + o.ffnNormWeight, dbias: g + o.ffnNormBias, dout: s.dX,
                      x: a.ffnSum, mean: a.ffnMean, rstd: a.ffnRstd, weight: p + o.ffnNormWeight, rows: T, dim: H)
    linearBackward(dinp: s.dFfnAct, dweight: g + o.ffnOutWeight, dbias: g + o.ffnOutBias, dout: s.dX,
                   inp: a.ffnAct, weight: p + o.ffnOutWeight, rows: T, inDim: I, outDim: H)
    if c.isMosaic {
        gatedGeluBackward(dinp: s.dFfnIn, dout: s.dFfnAct, inp: a.ffnIn, rows: T, inner: I)
        linearBackward(dinp: s.dX, dweight: g + o.ffnInWeight, dbias: nil, dout: s.dFfnIn, inp: a.attentionNormed,
                       weight: p + o.ffnInWeight, rows: T, inDim: H, outDim: 2 * I, accumulateInput: true)
    } else {
        geluBackward(dinp: s.dFfnIn, dout: s.dFfnAct, inp: a.ffnIn, count: T * I)
        linearBackward(dinp: s.dX, dweight: g + o.ffnInWeight, dbias: g + o.ffnInBias!, dout: s.dFfnIn,
                       inp: a.attentionNormed, weight: p + o.ffnInWeight, rows: T, inDim: H, outDim: I, accumulateInput: true)
    }
    // Attention block, same pattern.
    layerNormBackward(dx: s.dX, dweight: g + o.attentionNormWeight, dbias: g + o.attentionNormBias, dout: s.dX,
                      x: a.attentionSum, mean: a.attentionMean, rstd: a.attentionRstd, weight: p + o.attentionNormWeight,
                      rows: T, dim: H)
    linearBackward(dinp: s.dAttention, dweight: g + o.attentionOutWeight, dbias: g + o.attentionOutBias, dout: s.dX,
                   inp: a.attention, weight: p + o.attentionOutWeight, rows: T, inDim: H, outDim: H)
    attentionBackward(dqkv: s.dQKV, dout: s.dAttention, qkv: a.qkv, scratch: ctx.attentionScratch,
                      batch: ctx.batch, shape: ctx.attentionShape, alibiSlopes: ctx.slopes)
    linearBackward(dinp: s.dX, dweight: g + o.qkvWeight, dbias: g + o.qkvBias, dout: s.dQKV, inp: x,
                   weight: p + o.qkvWeight, rows: T, inDim: H, outDim: 3 * H, accumulateInput: true)
}
