import Foundation
import ModelSpec
import Torch

/// ``AdamW`` over stacked parameters [R, ...] (``StackedDecoder``): the same update for every run at once,
/// each run at its own learning rate — its schedule's value × the parameter's μP multiplier — and with its
/// own decoupled weight decay, p ← p·(1 − lr_r·wd). Moments are stacked like the parameters; a run's
/// slice is the state its ``AdamW`` alone would hold (``state(run:)``, ``init(stacking:)``).
final class StackedAdamW {
    let parameters: [Parameter]
    let options: AdamW.Options
    /// Steps taken so far (the bias-correction count, shared: the runs step together).
    private(set) var step: Int
    private(set) var exponentialAverages: [Tensor]
    private(set) var exponentialSquares: [Tensor]

    /// Stacks the state of one ``AdamW`` per run (fresh, or loaded from the run's checkpoint) over the
    /// stacked `parameters`; every optimizer must have taken the same number of steps.
    init(_ parameters: [Parameter], stacking optimizers: [AdamW]) throws {
        guard let first = optimizers.first, optimizers.allSatisfy({ $0.step == first.step }) else {
            throw ModelError.invalidConfiguration("stacked runs must resume from the same step (their checkpoints differ)")
        }
        self.parameters = parameters
        options = first.options
        step = first.step
        let device = parameters.first?.value.device ?? .cpu
        exponentialAverages = try parameters.indices.map { i in try Tensor.stack(optimizers.map { $0.exponentialAverages[i] }).to(device: device) }
        exponentialSquares = try parameters.indices.map { i in try Tensor.stack(optimizers.map { $0.exponentialSquares[i] }).to(device: device) }
    }

    /// One update; `learningRates` holds each run's base learning rate (already scheduled; 0 leaves a run
    /// where it is unless its moments are not finite).
    func update(learningRates: [Double]) throws {
        step += 1
        let (b1, b2) = (options.beta1, options.beta2)
        let (correction1, correction2) = (1 - Foundation.pow(b1, Double(step)), 1 - Foundation.pow(b2, Double(step)))
        try withNoGrad {
            for (i, p) in parameters.enumerated() where p.learningRateMultiplier != 0 {
                guard let g = p.value.grad else { continue }
                let lr = learningRates.map { $0 * p.learningRateMultiplier }            // per run
                let decay = p.decays ? options.weightDecay / p.learningRateMultiplier : 0
                let (m, v, w) = (exponentialAverages[i], exponentialSquares[i], p.value)
                if options.rule == .adamW, decay != 0 { try w.mul_(perRun(lr.map { 1 - $0 * decay }, like: w)) }
                try m.mul_(b1); try m.add_(g, alpha: 1 - b1)
                try v.mul_(b2); try v.addcmul_(g, g, value: 1 - b2)
                switch options.rule {
                case .adamW:
                    let denominator = try v.sqrt() / correction2.squareRoot() + options.eps
                    try w.add_(m * perRun(lr.map { -$0 / correction1 }, like: w) / denominator)  // addcdiv_ per run
                case .adamWScale:
                    let denominator = try v.sqrt() + options.eps
                    let rms = try w.reshape([lr.count, -1]).norm(2, dims: [1]).toArray(Float.self)
                        .map { Double($0) / Double(Swift.max(w.count / lr.count, 1)).squareRoot() }  // [R]
                    let stepSizes = zip(lr, rms).map { -$0 * correction2.squareRoot() / correction1 * Swift.max(1e-3, $1) }
                    try w.add_(m * perRun(stepSizes, like: w) / denominator)
                    if decay != 0 { try w.add_(w * perRun(lr.map { -$0 * decay }, like: w)) }
                }
            }
        }
    }

    /// Keeps only the runs at `kept` (positions in the stack); call after ``StackedDecoder/keep(_:)``.
    func keep(_ kept: [Int]) throws {
        let index = try Tensor(kept.map(Int64.init), device: parameters.first?.value.device ?? .cpu)
        exponentialAverages = try exponentialAverages.map { try $0.indexSelect(dim: 0, index: index) }
        exponentialSquares = try exponentialSquares.map { try $0.indexSelect(dim: 0, index: index) }
    }

    /// Run `run`'s optimizer state, keyed as ``AdamW/state()`` keys it.
    func state(run: Int) throws -> [String: Tensor] {
        var state: [String: Tensor] = ["step": try Tensor([Int64(step)])]
        for (i, p) in parameters.enumerated() {
            state["exp_avg.\(p.name)"] = try exponentialAverages[i].narrow(0, start: run, length: 1).squeeze(0)
            state["exp_avg_sq.\(p.name)"] = try exponentialSquares[i].narrow(0, start: run, length: 1).squeeze(0)
        }
        return state
    }
}

/// One value per run as a float32 tensor [R, 1, …] that broadcasts over `tensor` [R, ...] (a scalar op's
/// per-run version: the values round to float32 as a scalar's do).
func perRun(_ values: [Double], like tensor: Tensor) throws -> Tensor {
    try Tensor(values.map { Float($0) }, shape: [values.count] + Array(repeating: 1, count: tensor.rank - 1), device: tensor.device)
}

/// ``clipGradientNorm(_:maxNorm:)`` for each run of stacked parameters [R, ...]: scales run r's gradients so
/// that their 2-norm over all of its slices is at most `maxNorm`; returns each run's norm before clipping.
@discardableResult
func clipGradientNormPerRun(_ parameters: [Parameter], runs: Int, maxNorm: Double) throws -> [Double] {
    let grads = parameters.compactMap { $0.value.grad }
    guard !grads.isEmpty else { return Array(repeating: 0, count: runs) }
    let totals = try withNoGrad {
        try Tensor.stack(grads.map { try $0.reshape([runs, -1]).norm(2, dims: [1]) }, dim: 1).norm(2, dims: [1])  // [R]
    }.toArray(Float.self).map { Double($0) }
    let coefficients = totals.map { Swift.min(maxNorm / ($0 + 1e-6), 1) }
    if coefficients.contains(where: { $0 < 1 }) {
        try withNoGrad { for g in grads { try g.mul_(perRun(coefficients, like: g)) } }
    }
    return totals
}
