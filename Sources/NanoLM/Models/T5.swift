import Foundation
import ModelSpec
import Torch

/// T5 (v1.1 style) with Hugging Face's T5ForConditionalGeneration state-dict keys: a shared token
/// embedding, an encoder and a decoder of `layers` blocks each with pre-RMSNorm (T5LayerNorm), relative
/// position biases (one table per stack, in its block 0, shared by all its layers), cross-attention in the
/// decoder, a gated-GELU FFN (wi_0, wi_1, wo; GELU in its tanh form, HF's gelu_new), no biases, and an
/// untied `lm_head` (or the shared embedding when tied). The loss is cross-entropy of the decoder's
/// predictions against the span-corruption targets.
///
/// Two departures from HF, both for μP (docs/DESIGN.md, "Models"): attention logits carry the
/// parametrization's scale (HF T5 folds 1/√d into its init), and a tied readout is not rescaled by
/// 1/√width (it carries τ/r like every readout here). The relative-position table [32, heads] is an input
/// tensor: one dimension fixed, the other grows with width.
public final class T5: LanguageModel {
    public let config: ModelConfig
    let shared: Embedding
    let encoder: T5Stack
    let decoder: T5Stack
    let lmHead: Linear?

    /// T5LayerNorm epsilon (HF T5Config's layer_norm_epsilon).
    public static let normEps = 1e-6
    /// Relative-position buckets and the distance beyond which all share the last bucket (HF defaults).
    public static let relativeBuckets = 32
    public static let relativeMaxDistance = 128

    public init(config: ModelConfig, generator: Generator) throws {
        try config.validate()
        self.config = config
        let w = config.width
        shared = try Embedding("shared", count: config.vocabularySize, width: w)
        encoder = try T5Stack("encoder", config: config, isDecoder: false)
        decoder = try T5Stack("decoder", config: config, isDecoder: true)
        lmHead = config.tiedEmbeddings ? nil : try Linear("lm_head", in: w, out: config.vocabularySize, bias: false, role: .output)
        try config.parametrization.initialize(parameters, width: w, hyper: config.hyper, generator: generator)
    }

    public var parameters: [Parameter] {
        [shared.weight] + encoder.parameters + decoder.parameters + (lmHead?.parameters ?? [])
    }

    public var outputMultiplier: Double { config.outputMultiplier }

    /// Encoder ids [B, S] and decoder ids [B, T] (targets shifted right) → logits [B, T, V].
    public func logits(_ inputs: Tensor, decoderInputs: Tensor, training: Bool = false) throws -> Tensor {
        let memory = try encoder(shared(inputs), memory: nil, training: training)            // [B, S, W]
        let x = try decoder(shared(decoderInputs), memory: memory, training: training)        // [B, T, W]
        let logits = try readout(x, weight: (lmHead?.weight ?? shared.weight).value, multiplier: outputMultiplier)  // [B, T, V]
        try ActivationProbe.record("lm_head", logits)
        return logits
    }

    public func loss(_ batch: Batch, training: Bool) throws -> Tensor {
        try tokenLoss(logits(batch.inputs, decoderInputs: decoderInputs(batch), training: training), batch.targets)
    }

    public func logits(for batch: Batch) throws -> Tensor { try logits(batch.inputs, decoderInputs: decoderInputs(batch)) }

    func decoderInputs(_ batch: Batch) throws -> Tensor {
        guard let decoderInputs = batch.decoderInputs else {
            throw ModelError.invalidConfiguration("T5 needs decoder inputs: train it on span-corruption batches (objective spans)")
        }
        return decoderInputs
    }
}

/// The encoder or the decoder: blocks, the relative-position table of block 0, and a final RMSNorm.
final class T5Stack: Module {
    let prefix: String
    let isDecoder: Bool
    let blocks: [T5Block]
    /// [buckets, heads]: the bias each head adds for each relative-position bucket.
    let relativeBias: Parameter
    let finalNorm: RMSNorm
    let dropout: Double

    init(_ prefix: String, config: ModelConfig, isDecoder: Bool) throws {
        self.prefix = prefix
        self.isDecoder = isDecoder
        dropout = config.dropout
        blocks = try (0 ..< config.layers).map { try T5Block("\(prefix).block.\($0)", config: config, isDecoder: isDecoder) }
        relativeBias = try Parameter("\(prefix).block.0.layer.0.SelfAttention.relative_attention_bias.weight", role: .input,
                                     shape: [T5.relativeBuckets, config.heads])
        finalNorm = try RMSNorm("\(prefix).final_layer_norm", width: config.width, eps: T5.normEps)
    }

    /// Block 0's parameters in HF's order put the table after its q, k, v, o.
    var parameters: [Parameter] {
        guard let first = blocks.first else { return [] }
        let attention = first.selfAttention.parameters
        return attention + [relativeBias] + first.parameters.dropFirst(attention.count)
            + blocks.dropFirst().flatMap(\.parameters) + finalNorm.parameters
    }

    /// x [B, T, W] embedded tokens → [B, T, W]; `memory` [B, S, W] is the encoder output (decoder only).
    func callAsFunction(_ x: Tensor, memory: Tensor?, training: Bool) throws -> Tensor {
        let t = x.shape[1]
        let buckets = try relativePositionBuckets(queries: t, keys: t, bidirectional: !isDecoder, device: x.device)  // [T, T]
        let bias = try relativeBias.value.embedding(buckets).permute([2, 0, 1]).unsqueeze(0)        // [1, H, T, T]
        var h = try x.dropout(dropout, training: training)
        for block in blocks { h = try block(h, positionBias: bias, memory: memory, training: training) }
        return try finalNorm(h).dropout(dropout, training: training)
    }
}

/// One block: self-attention, cross-attention (decoder), gated-GELU FFN; each pre-normed and residual.
final class T5Block: Module {
    let prefix: String
    let selfAttention: T5Attention
    let selfNorm: RMSNorm
    let crossAttention: T5Attention?
    let crossNorm: RMSNorm?
    let wi0: Linear, wi1: Linear, wo: Linear
    let ffnNorm: RMSNorm
    let dropout: Double

    init(_ prefix: String, config: ModelConfig, isDecoder: Bool) throws {
        let w = config.width, f = config.ffnWidth
        self.prefix = prefix
        dropout = config.dropout
        selfAttention = try T5Attention("\(prefix).layer.0.SelfAttention", config: config, causal: isDecoder)
        selfNorm = try RMSNorm("\(prefix).layer.0.layer_norm", width: w, eps: T5.normEps)
        crossAttention = isDecoder ? try T5Attention("\(prefix).layer.1.EncDecAttention", config: config, causal: false) : nil
        crossNorm = isDecoder ? try RMSNorm("\(prefix).layer.1.layer_norm", width: w, eps: T5.normEps) : nil
        let ffn = "\(prefix).layer.\(isDecoder ? 2 : 1)"
        wi0 = try Linear("\(ffn).DenseReluDense.wi_0", in: w, out: f, bias: false)
        wi1 = try Linear("\(ffn).DenseReluDense.wi_1", in: w, out: f, bias: false)
        wo = try Linear("\(ffn).DenseReluDense.wo", in: f, out: w, bias: false)
        ffnNorm = try RMSNorm("\(ffn).layer_norm", width: w, eps: T5.normEps)
    }

    var parameters: [Parameter] {
        selfAttention.parameters + selfNorm.parameters + (crossAttention?.parameters ?? []) + (crossNorm?.parameters ?? [])
            + wi0.parameters + wi1.parameters + wo.parameters + ffnNorm.parameters
    }

    /// x [B, T, W] → [B, T, W]
    func callAsFunction(_ x: Tensor, positionBias: Tensor, memory: Tensor?, training: Bool) throws -> Tensor {
        let n = try selfNorm(x)
        var h = try x + selfAttention(n, keys: n, bias: positionBias, training: training).dropout(dropout, training: training)
        if let crossAttention, let crossNorm, let memory {
            h = try h + crossAttention(crossNorm(h), keys: memory, bias: nil, training: training).dropout(dropout, training: training)
        }
        let m = try ffnNorm(h)
        let gated = try (wi0(m).gelu(approximateTanh: true) * wi1(m)).dropout(dropout, training: training)  // [B, T, F]
        let y = try h + wo(gated).dropout(dropout, training: training)
        try ActivationProbe.record(prefix, y)
        return y
    }
}

/// T5's attention projections q, k, v, o (no biases) around the shared multi-head attention.
final class T5Attention: Module {
    let prefix: String
    let q: Linear, k: Linear, v: Linear, o: Linear
    let attention: MultiHeadAttention

    init(_ prefix: String, config: ModelConfig, causal: Bool) throws {
        let w = config.width
        self.prefix = prefix
        q = try Linear("\(prefix).q", in: w, out: w, bias: false)
        q.weight.queryRows = 0 ..< w
        k = try Linear("\(prefix).k", in: w, out: w, bias: false)
        v = try Linear("\(prefix).v", in: w, out: w, bias: false)
        o = try Linear("\(prefix).o", in: w, out: w, bias: false)
        attention = MultiHeadAttention(config: config, causal: causal)
    }

    var parameters: [Parameter] { q.parameters + k.parameters + v.parameters + o.parameters }

    /// x [B, T, W] attending to keys [B, S, W] → [B, T, W]
    func callAsFunction(_ x: Tensor, keys: Tensor, bias: Tensor?, training: Bool) throws -> Tensor {
        let heads = try attention(q: q(x), k: k(keys), v: v(keys), bias: bias, training: training, probe: "\(prefix).logits")
        let y = try o(heads)
        try ActivationProbe.record(prefix, y)
        return y
    }
}

/// HF's `T5Attention._relative_position_bucket` for every (query, key) pair: [T, S] int64 bucket ids.
/// Offsets below half the buckets (a quarter each way when bidirectional) get their own bucket; larger
/// ones share logarithmically wider buckets up to `relativeMaxDistance`. Computed with libtorch's float32
/// ops in the same order as HF, so the buckets agree at the boundaries; cached per shape and device.
func relativePositionBuckets(queries t: Int, keys s: Int, bidirectional: Bool, device: Device = .cpu) throws -> Tensor {
    let key = RelativeBucketKey(queries: t, keys: s, bidirectional: bidirectional, device: device)
    relativeBucketLock.lock()
    defer { relativeBucketLock.unlock() }
    if let cached = relativeBucketCache[key] { return cached }
    // Integer arithmetic stays int64 and divisions are true float32 divisions, as in PyTorch
    // (a Double scalar would promote an int64 tensor to float, and Tensor / Double multiplies by 1/x).
    func long(_ x: Int) throws -> Tensor { try Tensor.full([], value: Double(x), dtype: .int64, device: device) }
    func float(_ x: Double) throws -> Tensor { try Tensor.full([], value: x, device: device) }
    var buckets = T5.relativeBuckets
    let context = try Tensor.arange(0, Double(t), device: device).unsqueeze(1)                 // [T, 1]
    let memory = try Tensor.arange(0, Double(s), device: device).unsqueeze(0)                  // [1, S]
    var relative = try memory - context                                                        // [T, S] key − query
    var result = try Tensor.zeros([t, s], dtype: .int64, device: device)
    if bidirectional {
        buckets /= 2
        result = try result + relative.gt(0).to(.int64) * long(buckets)
        relative = try relative.abs()
    } else {
        relative = try relative.minimum(long(0)).neg()
    }
    let maxExact = buckets / 2
    let isSmall = try relative.lt(Double(maxExact)).to(.int64)                                // [T, S] 0/1
    let logRatio = try (relative.to(.float32) / float(Double(maxExact))).log()
        / float(Foundation.log(Double(T5.relativeMaxDistance) / Double(maxExact)))
    let large = try ((logRatio * float(Double(buckets - maxExact))).to(.int64) + long(maxExact)).minimum(long(buckets - 1))
    result = try result + isSmall * relative + (long(1) - isSmall) * large
    relativeBucketCache[key] = result
    return result
}
private struct RelativeBucketKey: Hashable {
    var queries: Int, keys: Int, bidirectional: Bool, device: Device
}
nonisolated(unsafe) private var relativeBucketCache: [RelativeBucketKey: Tensor] = [:]
private let relativeBucketLock = NSLock()
