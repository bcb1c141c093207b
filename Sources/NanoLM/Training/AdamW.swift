import Foundation
import ModelSpec
import Torch

/// AdamW over ``Parameter``s, each with its μP learning-rate multiplier (the paper's Table 2:
/// l/r for hidden matrices, l elsewhere).
///
/// Two update rules:
/// - ``Rule/adamW``: `torch.optim.AdamW` exactly (decoupled weight decay p ← p·(1 − lr·wd), bias-corrected
///   moments, ε added to √v̂).
/// - ``Rule/adamWScale``: nanoT5's `AdamWScale`, the optimizer the paper's code names `adamwscale`: the
///   HF-style AdamW step (ε added to √v, bias correction folded into the step size) multiplied by
///   max(1e-3, RMS(p)), then weight decay p ← p − lr·wd·p.
///
/// Weight decay under μP keeps lr·wd independent of width (mup's `MuAdamW` default): a hidden tensor's
/// decay is multiplied by r while its learning rate is divided by r (docs/DESIGN.md).
///
/// ``Rule/adamW`` runs either as a loop over the parameters (eight tensor ops each) or through libtorch's
/// fused kernel where the engine has it (``Implementation``); the two agree within float32 rounding.
public final class AdamW {
    public enum Rule: String, Codable, Sendable { case adamW = "adamw", adamWScale = "adamwscale" }

    /// How ``Rule/adamW`` computes its update (``Options/implementation``; nil there chooses: the fused
    /// kernel where the engine has it and every parameter is on CUDA, where it saves kernel launches; the
    /// loop elsewhere, so CPU results stay bitwise what they were). ``Rule/adamWScale`` always loops.
    public enum Implementation: String, Codable, Sendable {
        /// One parameter at a time: every engine and device.
        case loop
        /// libtorch's `_fused_adamw_`, one call per group of parameters sharing a learning rate, decay and
        /// device (μP gives each role its own); needs ``Torch/hasFusedAdamW``.
        case fused
    }

    public struct Options: Codable, Hashable, Sendable {
        public var rule: Rule = .adamW
        public var beta1 = 0.9
        public var beta2 = 0.999
        public var eps = 1e-8
        public var weightDecay = 0.0
        /// nil: chosen by engine and device (``Implementation``). Like a config's `device`, a how and not a
        /// what: absent from the JSON when nil, so configs written before it decode and keep their run ids.
        public var implementation: Implementation?
        public init(rule: Rule = .adamW, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0,
                    implementation: Implementation? = nil) {
            self.rule = rule
            self.beta1 = beta1
            self.beta2 = beta2
            self.eps = eps
            self.weightDecay = weightDecay
            self.implementation = implementation
        }
    }

    public let parameters: [Parameter]
    public let options: Options
    /// The implementation ``update(learningRate:)`` runs, resolved from the options when made.
    public let implementation: Implementation
    /// Steps taken so far (the bias-correction count).
    public private(set) var step = 0
    /// First and second moments, one pair per parameter (same order).
    let exponentialAverages: [Tensor]
    let exponentialSquares: [Tensor]

    public init(_ parameters: [Parameter], options: Options = Options()) throws {
        self.parameters = parameters
        self.options = options
        implementation = try Self.implementation(options, on: parameters.map(\.value.device))
        // On each parameter's device: move the model before making its optimizer.
        exponentialAverages = try parameters.map { try Tensor.zeros($0.shape, device: $0.value.device) }
        exponentialSquares = try parameters.map { try Tensor.zeros($0.shape, device: $0.value.device) }
    }

    /// One update with base learning rate `learningRate` (already scheduled); each parameter moves at
    /// learningRate × its multiplier. Parameters without a gradient are skipped, as in PyTorch.
    public func update(learningRate: Double) throws {
        step += 1
        if implementation == .fused { return try fusedUpdate(learningRate: learningRate) }
        let (b1, b2) = (options.beta1, options.beta2)
        let correction1 = 1 - Foundation.pow(b1, Double(step))
        let correction2 = 1 - Foundation.pow(b2, Double(step))
        try withNoGrad {
            for (i, p) in parameters.enumerated() {
                // A frozen parameter (multiplier 0) does not move, and 0/0 must not reach its decay.
                guard let g = p.value.grad, p.learningRateMultiplier != 0 else { continue }
                let lr = learningRate * p.learningRateMultiplier
                let decay = p.decays ? options.weightDecay / p.learningRateMultiplier : 0
                let (m, v, w) = (exponentialAverages[i], exponentialSquares[i], p.value)
                switch options.rule {
                case .adamW:
                    if decay != 0 { try w.mul_(1 - lr * decay) }
                    try m.mul_(b1); try m.add_(g, alpha: 1 - b1)
                    try v.mul_(b2); try v.addcmul_(g, g, value: 1 - b2)
                    let denominator = try v.sqrt() / correction2.squareRoot() + options.eps
                    try w.addcdiv_(m, denominator, value: -lr / correction1)
                case .adamWScale:
                    try m.mul_(b1); try m.add_(g, alpha: 1 - b1)
                    try v.mul_(b2); try v.addcmul_(g, g, value: 1 - b2)
                    let denominator = try v.sqrt() + options.eps
                    let rms = try w.norm().item() / Double(Swift.max(w.count, 1)).squareRoot()
                    let stepSize = lr * correction2.squareRoot() / correction1 * Swift.max(1e-3, rms)
                    try w.addcdiv_(m, denominator, value: -stepSize)
                    if decay != 0 { try w.add_(w, alpha: -lr * decay) }
                }
            }
        }
    }

    /// ``Rule/adamW`` through the fused kernel: the parameters with a gradient, grouped by learning rate,
    /// decay and device (in the order first met), one kernel call per group.
    private func fusedUpdate(learningRate: Double) throws {
        struct Group: Hashable { let lr: Double, decay: Double, device: Device }
        var order: [Group] = []
        var members: [Group: [(parameter: Tensor, gradient: Tensor, index: Int)]] = [:]
        for (i, p) in parameters.enumerated() {
            guard let g = p.value.grad, p.learningRateMultiplier != 0 else { continue }
            let group = Group(lr: learningRate * p.learningRateMultiplier,
                              decay: p.decays ? options.weightDecay / p.learningRateMultiplier : 0, device: p.value.device)
            if members[group] == nil { order.append(group) }
            members[group, default: []].append((p.value, g, i))
        }
        try withNoGrad {
            for group in order {
                let list = members[group] ?? []
                try Tensor.fusedAdamW_(parameters: list.map(\.parameter), gradients: list.map(\.gradient),
                                       exponentialAverages: list.map { exponentialAverages[$0.index] },
                                       exponentialSquares: list.map { exponentialSquares[$0.index] }, step: step,
                                       learningRate: group.lr, beta1: options.beta1, beta2: options.beta2,
                                       weightDecay: group.decay, eps: options.eps)
            }
        }
    }

    /// What `options` asks for on parameters on `devices`; a clear error where the fused kernel is asked
    /// for and cannot run.
    static func implementation(_ options: Options, on devices: [Device]) throws -> Implementation {
        switch options.implementation {
        case .loop: return .loop
        case nil:
            let onCUDA = !devices.isEmpty && devices.allSatisfy { if case .cuda = $0 { return true } else { return false } }
            return options.rule == .adamW && Torch.hasFusedAdamW && onCUDA ? .fused : .loop
        case .fused:
            guard options.rule == .adamW else {
                throw ModelError.invalidConfiguration("optimizer.implementation fused: the fused kernel computes adamw, not \(options.rule.rawValue); drop the field (adamwscale runs the loop)")
            }
            guard Torch.hasFusedAdamW else {
                throw ModelError.invalidConfiguration("optimizer.implementation fused: libtorch \(Torch.version) has no fused AdamW kernel (it needs ≥ 2.4); use loop or drop the field, or build against PyPI's torch 2.x (scripts/torch2.sh)")
            }
            return .fused
        }
    }

    /// Drops every parameter's gradient.
    public func zeroGrad() throws { for p in parameters { try p.value.zeroGrad() } }

    /// The optimizer state for a checkpoint: moments by parameter name, and the step.
    public func state() throws -> [String: Tensor] {
        var state: [String: Tensor] = ["step": try Tensor([Int64(step)])]
        for (i, p) in parameters.enumerated() {
            state["exp_avg.\(p.name)"] = exponentialAverages[i]
            state["exp_avg_sq.\(p.name)"] = exponentialSquares[i]
        }
        return state
    }

    /// Restores a state saved by ``state()``; every moment must be present with its shape.
    public func load(_ state: [String: Tensor], from source: String) throws {
        guard let s = state["step"] else { throw ModelError.stateDictMismatch(source: source, missing: ["step"], unexpected: []) }
        try withNoGrad {
            for (i, p) in parameters.enumerated() {
                for (prefix, target) in [("exp_avg", exponentialAverages[i]), ("exp_avg_sq", exponentialSquares[i])] {
                    guard let t = state["\(prefix).\(p.name)"] else {
                        throw ModelError.stateDictMismatch(source: source, missing: ["\(prefix).\(p.name)"], unexpected: [])
                    }
                    guard t.shape == p.shape else {
                        throw ModelError.shapeMismatch(source: source, name: "\(prefix).\(p.name)", expected: p.shape, found: t.shape)
                    }
                    try target.copy_(t)
                }
            }
        }
        step = Int(try s.item())
    }
}

/// Scales all gradients so their global 2-norm is at most `maxNorm` (torch.nn.utils.clip_grad_norm_);
/// returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Double) throws -> Double {
    let grads = parameters.compactMap { $0.value.grad }
    guard !grads.isEmpty else { return 0 }
    let total = try withNoGrad { try Tensor.stack(grads.map { try $0.norm() }).norm().item() }
    let coefficient = maxNorm / (total + 1e-6)
    if coefficient < 1 { try withNoGrad { for g in grads { try g.mul_(coefficient) } } }
    return total
}
