import ModelSpec
import Torch

/// R decoders of one shape (GPT or Llama) as one model, for training same-shape runs together: a model of
/// that architecture whose every parameter holds the R runs' tensors stacked along a leading dimension
/// [R, ...]. Its own blocks then compute all runs at once (the layers are stack-aware, StackedLayers.swift);
/// this file adds what differs per run around them: position embeddings, each run's output multiplier τ/r
/// on its logits, and one mean loss per run.
final class StackedDecoder {
    /// The GPT or Llama whose parameters hold the stacked values.
    let host: any LanguageModel
    /// Each run's readout multiplier (τ/r under μP) [R, 1, 1].
    private(set) var outputMultipliers: Tensor
    private(set) var runs: Int

    static func supports(_ architecture: Architecture) -> Bool { architecture == .gpt || architecture == .llama }

    /// Stacks `models` (each built and initialised as its run alone would be: own seed, σ and τ) into one;
    /// the first becomes the host, and each of its parameters [shape] becomes [R, shape].
    init(_ models: [any LanguageModel]) throws {
        guard let host = models.first, let config = Self.config(of: host), Self.supports(config.architecture) else {
            throw ModelError.invalidConfiguration("stacked training covers GPT and Llama models")
        }
        let lists = models.map(\.parameters)
        guard lists.allSatisfy({ $0.map(\.shape) == lists[0].map(\.shape) }) else {
            throw ModelError.invalidConfiguration("stacked models must have the same shapes")
        }
        try withNoGrad {
            for (i, p) in host.parameters.enumerated() {
                p.value = try Tensor.stack(lists.map { $0[i].value }).requiringGrad()  // [R, shape]
            }
        }
        self.host = host
        runs = models.count
        let multipliers = models.map { Float(Self.config(of: $0)?.outputMultiplier ?? 1) }
        outputMultipliers = try Tensor(multipliers, shape: [models.count, 1, 1], device: host.device)
    }

    static func config(of model: any LanguageModel) -> ModelConfig? {
        (model as? GPT)?.config ?? (model as? Llama)?.config
    }

    var config: ModelConfig { Self.config(of: host)! }

    /// Moves every stacked parameter and the multipliers to `device`.
    func move(to device: Device) throws {
        try host.move(to: device)
        outputMultipliers = try outputMultipliers.to(device: device)
    }

    /// Keeps only the runs at `kept` (positions in the stack, in order), e.g. when others diverged.
    func keep(_ kept: [Int]) throws {
        let index = try Tensor(kept.map(Int64.init), device: host.device)
        try withNoGrad {
            for p in host.parameters { p.value = try p.value.indexSelect(dim: 0, index: index).requiringGrad() }
            outputMultipliers = try outputMultipliers.indexSelect(dim: 0, index: index)
        }
        runs = kept.count
    }

    /// Run `run`'s parameters by state-dict name, as its model alone would have them.
    func stateDict(run: Int) throws -> [String: Tensor] {
        try Dictionary(uniqueKeysWithValues: host.parameters.map { ($0.name, try $0.value.detach().narrow(0, start: run, length: 1).squeeze(0)) })
    }

    /// Each run's mean next-token cross-entropy [R] (targets equal to ``Batch/ignoreIndex`` skipped) for
    /// inputs and targets [R·B, T], run r's batch at rows r·B ..< (r+1)·B. Their sum is what backward
    /// takes: the runs share no parameter, so each run's gradients are its loss's alone.
    func losses(inputs: Tensor, targets: Tensor, training: Bool) throws -> Tensor {
        let logits = try self.logits(inputs, training: training)                  // [R, B·T, V]
        let v = logits.shape[2]
        let perToken = try crossEntropy(logits.reshape([-1, v]), targets.reshape([-1]), reduction: .none,
                                        ignoreIndex: Batch.ignoreIndex)            // [R·B·T], 0 where ignored
        let counted = try targets.ne(Double(Batch.ignoreIndex)).to(.float32).reshape([runs, -1]).sum(dim: 1)  // [R]
        return try perToken.reshape([runs, -1]).sum(dim: 1) / counted            // [R]
    }

    /// ids [R·B, T] → logits [R, B·T, V]: the host model's forward pass, with the per-run pieces here.
    func logits(_ ids: Tensor, training: Bool) throws -> Tensor {
        let (t, w) = (ids.shape[1], config.width)
        var x: Tensor                                                            // [R·B, T, W]
        let head: Tensor                                                         // [R, V, W]
        switch host {
        case let gpt as GPT:
            _ = try config.positions(of: ids)                                    // T within the position table
            let positions = try gpt.wpe.weight.value.narrow(1, start: 0, length: t).unsqueeze(1)  // [R, 1, T, W]
            x = try (gpt.wte(ids).reshape([runs, -1, t, w]) + positions).reshape([-1, t, w])
            for block in gpt.blocks { x = try block(x, training: training) }
            x = try gpt.lnF(x)
            head = (gpt.lmHead?.weight ?? gpt.wte.weight).value
        case let llama as Llama:
            x = try llama.embedTokens(ids)
            for layer in llama.layers { x = try layer(x, rotary: llama.rotary, training: training) }
            x = try llama.norm(x)
            head = (llama.lmHead?.weight ?? llama.embedTokens.weight).value
        default:
            throw ModelError.invalidConfiguration("stacked training covers GPT and Llama models")
        }
        // The readout of each run with its own multiplier on x, as ``readout(_:weight:bias:multiplier:)``.
        return try (x.reshape([runs, -1, w]) * outputMultipliers).matmul(head.transpose(1, 2))  // [R, B·T, V]
    }
}
