import ModelSpec
import Torch

/// GPT as in nanoGPT (and Hugging Face's GPT-2 state-dict keys): learned token and position
/// embeddings, pre-LayerNorm blocks with causal self-attention (fused `c_attn`) and a GELU MLP, a final
/// LayerNorm and a readout that is tied to the token embedding or its own `lm_head`.
///
/// μP enters in three places, each read from ``Parametrization``: the initialisation and learning-rate
/// multiplier of every tensor (by role), the attention scale, and the output multiplier on the logits.
/// Linear weights are [out, in] like nanoGPT's nn.Linear (HF's GPT-2 Conv1D stores the transpose).
public final class GPT: LanguageModel {
    public let config: ModelConfig
    let wte: Embedding
    let wpe: Embedding
    let blocks: [GPTBlock]
    let lnF: LayerNorm
    /// The untied readout; nil when the token embedding is the readout.
    let lmHead: Linear?

    /// Builds the model and initialises it from `generator` under `config.parametrization`.
    public init(config: ModelConfig, generator: Generator) throws {
        try config.validate()
        self.config = config
        let w = config.width
        wte = try Embedding("transformer.wte", count: config.vocabularySize, width: w)
        wpe = try Embedding("transformer.wpe", count: config.sequenceLength, width: w)
        blocks = try (0 ..< config.layers).map { try GPTBlock("transformer.h.\($0)", config: config) }
        lnF = try LayerNorm("transformer.ln_f", width: w)
        lmHead = config.tiedEmbeddings ? nil : try Linear("lm_head", in: w, out: config.vocabularySize, bias: false, role: .output)
        try config.parametrization.initialize(parameters, width: w, hyper: config.hyper, generator: generator)
    }

    public var parameters: [Parameter] {
        [wte.weight, wpe.weight] + blocks.flatMap(\.parameters) + lnF.parameters + (lmHead?.parameters ?? [])
    }

    /// The factor on the logits: τ/r under μP, τ under SP.
    public var outputMultiplier: Double { config.outputMultiplier }

    /// ids [B, T] → logits [B, T, V]
    public func logits(_ ids: Tensor, training: Bool = false) throws -> Tensor {
        let positions = try config.positions(of: ids)                            // [T]
        var x = try (wte(ids) + wpe(positions)).dropout(config.dropout, training: training)  // [B, T, W]
        try ActivationProbe.record("transformer.wte+wpe", x)
        for block in blocks { x = try block(x, training: training) }
        x = try lnF(x)
        let logits = try readout(x, weight: (lmHead?.weight ?? wte.weight).value, multiplier: outputMultiplier)  // [B, T, V]
        try ActivationProbe.record("lm_head", logits)
        return logits
    }

    public func logits(for batch: Batch) throws -> Tensor { try logits(batch.inputs) }

    /// Mean next-token cross-entropy over the targets that are not ``Batch/ignoreIndex``.
    public func loss(_ batch: Batch, training: Bool) throws -> Tensor {
        let logits = try self.logits(batch.inputs, training: training)
        return try tokenLoss(logits, batch.targets)
    }
}

/// One pre-LayerNorm block: x + attn(ln_1(x)), then + mlp(ln_2(x)).
final class GPTBlock: Module {
    let prefix: String
    let ln1: LayerNorm
    let cAttn: Linear
    let attnProj: Linear
    let ln2: LayerNorm
    let cFc: Linear
    let mlpProj: Linear
    let attention: MultiHeadAttention
    let width: Int
    let dropout: Double

    init(_ prefix: String, config: ModelConfig) throws {
        let w = config.width
        let hidden = config.ffnWidth
        self.prefix = prefix
        width = w
        dropout = config.dropout
        ln1 = try LayerNorm("\(prefix).ln_1", width: w)
        cAttn = try Linear("\(prefix).attn.c_attn", in: w, out: 3 * w)          // rows: q, k, v
        cAttn.weight.queryRows = 0 ..< w
        attnProj = try Linear("\(prefix).attn.c_proj", in: w, out: w)
        ln2 = try LayerNorm("\(prefix).ln_2", width: w)
        cFc = try Linear("\(prefix).mlp.c_fc", in: w, out: hidden)
        mlpProj = try Linear("\(prefix).mlp.c_proj", in: hidden, out: w)
        attention = MultiHeadAttention(config: config, causal: true)
    }

    var parameters: [Parameter] {
        ln1.parameters + cAttn.parameters + attnProj.parameters + ln2.parameters + cFc.parameters + mlpProj.parameters
    }

    /// x [B, T, W] → [B, T, W]
    func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        let qkv = try cAttn(ln1(x)).split(size: width, dim: 2)                  // 3 × [B, T, W]
        let heads = try attention(q: qkv[0], k: qkv[1], v: qkv[2], training: training, probe: "\(prefix).attn.logits")
        let a = try attnProj(heads).dropout(dropout, training: training)          // [B, T, W]
        try ActivationProbe.record("\(prefix).attn", a)
        let h = try x + a
        let m = try mlpProj(cFc(ln2(h)).gelu()).dropout(dropout, training: training)  // [B, T, W]
        try ActivationProbe.record("\(prefix).mlp", m)
        let y = try h + m
        try ActivationProbe.record(prefix, y)
        return y
    }
}

/// The readout of every model: logits [B, T, V] = (multiplier · x) · weightᵀ + bias, x [B, T, W], weight
/// [V, W] (the untied head or the tied input embedding). The multiplier (τ/r under μP) goes on x rather
/// than on the logits — the same logits, V/W times fewer multiplies — so a bias (BERT's decoder) is
/// added unscaled, as mup's MuReadout does.
func readout(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, multiplier: Double) throws -> Tensor {
    try (multiplier == 1 ? x : x * multiplier).linear(weight, bias: bias)
}

/// Mean cross-entropy of logits [B, T, V] against targets [B, T] (``Batch/ignoreIndex`` skipped).
func tokenLoss(_ logits: Tensor, _ targets: Tensor) throws -> Tensor {
    let v = logits.shape[2]
    return try crossEntropy(logits.reshape([-1, v]), targets.reshape([-1]), ignoreIndex: Batch.ignoreIndex)
}

extension ModelConfig {
    /// Position ids [T] for ids [B, T]; an error when T exceeds the learned position table.
    func positions(of ids: Tensor) throws -> Tensor {
        let t = ids.shape[1]
        guard t <= sequenceLength else {
            throw ModelError.invalidConfiguration("sequence of \(t) tokens is longer than sequenceLength \(sequenceLength)")
        }
        return try Tensor.arange(0, Double(t), device: ids.device)               // [T]
    }
}
