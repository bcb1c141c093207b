import ModelSpec
import Torch

/// Llama with Hugging Face's LlamaForCausalLM state-dict keys: token embedding, pre-RMSNorm blocks
/// with causal self-attention under rotary positions (HF's rotate_half convention) and a SwiGLU MLP,
/// a final RMSNorm and the readout (`lm_head`, or the token embedding when tied). No biases.
///
/// The SwiGLU hidden size is ``ModelConfig/ffnWidth`` (round(ffnRatio · width)); the paper's Table 3
/// sizes correspond to ffnRatio 4 (docs/DESIGN.md, "Models"). μP as for GPT: roles set init and
/// learning rate, `q_proj` starts at zero under zeroQuery, logits carry the output multiplier.
public final class Llama: LanguageModel {
    public let config: ModelConfig
    let embedTokens: Embedding
    let layers: [LlamaBlock]
    let norm: RMSNorm
    let lmHead: Linear?
    let rotary: RotaryEmbedding

    /// RMSNorm epsilon (HF LlamaConfig's rms_norm_eps default).
    public static let normEps = 1e-6

    public init(config: ModelConfig, generator: Generator) throws {
        try config.validate()
        guard config.headDim % 2 == 0 else {
            throw ModelError.invalidConfiguration("Llama's rotary embeddings need an even headDim, got \(config.headDim)")
        }
        self.config = config
        let w = config.width
        embedTokens = try Embedding("model.embed_tokens", count: config.vocabularySize, width: w)
        layers = try (0 ..< config.layers).map { try LlamaBlock("model.layers.\($0)", config: config) }
        norm = try RMSNorm("model.norm", width: w, eps: Self.normEps)
        lmHead = config.tiedEmbeddings ? nil : try Linear("lm_head", in: w, out: config.vocabularySize, bias: false, role: .output)
        rotary = RotaryEmbedding(headDim: config.headDim)
        try config.parametrization.initialize(parameters, width: w, hyper: config.hyper, generator: generator)
    }

    public var parameters: [Parameter] {
        [embedTokens.weight] + layers.flatMap(\.parameters) + norm.parameters + (lmHead?.parameters ?? [])
    }

    public var outputMultiplier: Double { config.outputMultiplier }

    /// ids [B, T] → logits [B, T, V]
    public func logits(_ ids: Tensor, training: Bool = false) throws -> Tensor {
        var x = try embedTokens(ids).dropout(config.dropout, training: training)  // [B, T, W]
        try ActivationProbe.record("model.embed_tokens", x)
        for layer in layers { x = try layer(x, rotary: rotary, training: training) }
        x = try norm(x)
        let logits = try readout(x, weight: (lmHead?.weight ?? embedTokens.weight).value, multiplier: outputMultiplier)  // [B, T, V]
        try ActivationProbe.record("lm_head", logits)
        return logits
    }

    public func logits(for batch: Batch) throws -> Tensor { try logits(batch.inputs) }

    public func loss(_ batch: Batch, training: Bool) throws -> Tensor {
        try tokenLoss(logits(batch.inputs, training: training), batch.targets)
    }
}

/// h = x + o_proj(attn(input_layernorm(x))); y = h + down_proj(silu(gate_proj(n)) · up_proj(n)), n = post_attention_layernorm(h).
final class LlamaBlock: Module {
    let prefix: String
    let inputNorm: RMSNorm
    let qProj: Linear, kProj: Linear, vProj: Linear, oProj: Linear
    let postNorm: RMSNorm
    let gateProj: Linear, upProj: Linear, downProj: Linear
    let attention: MultiHeadAttention
    let dropout: Double

    init(_ prefix: String, config: ModelConfig) throws {
        let w = config.width
        let hidden = config.ffnWidth
        self.prefix = prefix
        dropout = config.dropout
        inputNorm = try RMSNorm("\(prefix).input_layernorm", width: w, eps: Llama.normEps)
        qProj = try Linear("\(prefix).self_attn.q_proj", in: w, out: w, bias: false)
        qProj.weight.queryRows = 0 ..< w
        kProj = try Linear("\(prefix).self_attn.k_proj", in: w, out: w, bias: false)
        vProj = try Linear("\(prefix).self_attn.v_proj", in: w, out: w, bias: false)
        oProj = try Linear("\(prefix).self_attn.o_proj", in: w, out: w, bias: false)
        postNorm = try RMSNorm("\(prefix).post_attention_layernorm", width: w, eps: Llama.normEps)
        gateProj = try Linear("\(prefix).mlp.gate_proj", in: w, out: hidden, bias: false)
        upProj = try Linear("\(prefix).mlp.up_proj", in: w, out: hidden, bias: false)
        downProj = try Linear("\(prefix).mlp.down_proj", in: hidden, out: w, bias: false)
        attention = MultiHeadAttention(config: config, causal: true)
    }

    var parameters: [Parameter] {
        inputNorm.parameters + qProj.parameters + kProj.parameters + vProj.parameters + oProj.parameters
            + postNorm.parameters + gateProj.parameters + upProj.parameters + downProj.parameters
    }

    /// x [B, T, W] → [B, T, W]
    func callAsFunction(_ x: Tensor, rotary: RotaryEmbedding, training: Bool) throws -> Tensor {
        let n = try inputNorm(x)                                                  // [B, T, W]
        let heads = try attention(q: qProj(n), k: kProj(n), v: vProj(n), rotary: rotary, training: training,
                                  probe: "\(prefix).self_attn.logits")            // [B, T, W]
        let a = try oProj(heads).dropout(dropout, training: training)
        try ActivationProbe.record("\(prefix).self_attn", a)
        let h = try x + a
        let m2 = try postNorm(h)
        let m = try downProj(gateProj(m2).silu() * upProj(m2)).dropout(dropout, training: training)  // [B, T, W]
        try ActivationProbe.record("\(prefix).mlp", m)
        let y = try h + m
        try ActivationProbe.record(prefix, y)
        return y
    }
}
