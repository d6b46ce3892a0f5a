// The optimizer settings, as sentence-transformers' fit() uses them:
// torch.optim.AdamW with the no-decay name rule, clip_grad_norm_, WarmupLinear.
import Foundation
import LodestoneTensor

/// torch.optim.AdamW hyperparameters plus sentence-transformers' no-decay rule on upstream names.
public struct AdamWConfig: Sendable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-6
    public var weightDecay: Float = 0.01
    public var noDecaySubstrings = ["bias", "LayerNorm.bias", "LayerNorm.weight"]
    public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-6, weightDecay: Float = 0.01,
                noDecaySubstrings: [String] = ["bias", "LayerNorm.bias", "LayerNorm.weight"]) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        self.noDecaySubstrings = noDecaySubstrings
    }
    /// Whether the parameter with this upstream name gets weight decay.
    public func decays(_ name: String) -> Bool { !noDecaySubstrings.contains { name.contains($0) } }
}

/// transformers' get_linear_schedule_with_warmup factor: linear warm-up to 1, then linear decay to 0.
public struct WarmupLinear: Sendable {
    public var warmupSteps: Int
    public var totalSteps: Int
    public init(warmupSteps: Int, totalSteps: Int) { self.warmupSteps = warmupSteps; self.totalSteps = totalSteps }
    public func factor(step: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        return max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
    }
    public func learningRate(base: Double, step: Int) -> Double { base * factor(step: step) }
}

/// torch.nn.utils.clip_grad_norm_, the one clip: returns the norm before clipping; scales by
/// min(1, max/(norm + 1e-6)). `norm`, when the caller has it already, saves a pass over the gradients.
@discardableResult
public func clipGradNorm(_ grads: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float, norm known: Float? = nil) -> Float {
    let norm = known ?? globalNorm(grads, count: count)
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 { scaleInPlace(grads, count: count, by: coef) }
    return norm
}
