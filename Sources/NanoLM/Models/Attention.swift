import Foundation
import ModelSpec
import Torch

/// Which implementation of softmax(scale · q·kᵀ + bias + mask) · v runs.
public enum AttentionKernel: Sendable {
    /// libtorch's fused `scaled_dot_product_attention` where the engine has it (≥ 2.1), except while the
    /// coordinate check records attention logits (the fused kernel never forms them); the explicit
    /// path otherwise.
    case automatic
    /// The logits as a tensor, masked, softmaxed, times v: every engine; what the coordinate check probes.
    case explicit
    /// The fused kernel; an error on an engine without it.
    case fused

    /// The kernel attention uses in this task (tests compare the two with `$current.withValue`).
    @TaskLocal public static var current: AttentionKernel = .automatic
}

/// Multi-head scaled dot-product attention over already-projected queries, keys and values — the part
/// GPT, Llama, BERT and T5 share. Each model owns its projections (GPT's fused `c_attn`, Llama's
/// `q_proj`/`k_proj`/`v_proj`, BERT's `query`/`key`/`value`), so state-dict names stay each
/// architecture's own.
///
/// softmax(scale · q·kᵀ + bias + mask) · v, with `scale` from ``Parametrization/attentionScale(headDim:)``
/// (μP: multiplier / d_head; SP: 1/√d_head), computed by the ``AttentionKernel`` of the task.
public struct MultiHeadAttention {
    public var heads: Int
    public var headDim: Int
    public var scale: Double
    /// Position t attends to positions ≤ t (aligned to the end when keys are longer than queries).
    public var causal: Bool
    /// Dropout on the attention probabilities (training only).
    public var dropout: Double

    public init(heads: Int, headDim: Int, scale: Double, causal: Bool, dropout: Double = 0) {
        self.heads = heads
        self.headDim = headDim
        self.scale = scale
        self.causal = causal
        self.dropout = dropout
    }

    /// The attention of a model built from `config`: its heads and head size, the parametrization's
    /// scale, its dropout.
    init(config: ModelConfig, causal: Bool) {
        self.init(heads: config.heads, headDim: config.headDim, scale: config.parametrization.attentionScale(headDim: config.headDim),
                  causal: causal, dropout: config.dropout)
    }

    /// q [B, T, H·D], k and v [B, S, H·D] → [B, T, H·D].
    /// - bias: added to the logits, broadcastable to [B, H, T, S] (T5's relative positions, a padding
    ///   mask as large negative values).
    /// - rotary: rotary position embeddings applied to q and k per head (Llama).
    /// - probe: the name under which the coordinate check records the logits (scale · q·kᵀ, before bias and mask).
    public func callAsFunction(q: Tensor, k: Tensor, v: Tensor, bias: Tensor? = nil, rotary: RotaryEmbedding? = nil,
                               training: Bool, probe: String? = nil) throws -> Tensor {
        let (b, t, s) = (q.shape[0], q.shape[1], k.shape[1])
        var q = try splitHeads(q)                                                // [B, H, T, D]
        var k = try splitHeads(k)                                                // [B, H, S, D]
        let v = try splitHeads(v)                                                // [B, H, S, D]
        if let rotary {
            q = try rotary(q, offset: s - t)
            k = try rotary(k)
        }
        let useFused = switch AttentionKernel.current {
        case .explicit: false
        case .fused: true
        case .automatic: Torch.hasScaledDotProductAttention && !(probe != nil && ActivationProbe.isRecording)
        }
        let y = try useFused ? fused(q, k, v, bias: bias, training: training)
                             : explicit(q, k, v, bias: bias, training: training, probe: probe)  // [B, H, T, D]
        return try y.transpose(1, 2).contiguous().view([b, t, heads * headDim])  // [B, T, H·D]
    }

    /// The logits as a tensor: q [B, H, T, D], k and v [B, H, S, D] → [B, H, T, D].
    func explicit(_ q: Tensor, _ k: Tensor, _ v: Tensor, bias: Tensor?, training: Bool, probe: String?) throws -> Tensor {
        let (t, s) = (q.shape[2], k.shape[2])
        // The scale goes on q ([B, H, T, D]) rather than on the logits ([B, H, T, S]): fewer elements.
        var logits = try (q * scale).headMatmul(k.transpose(-2, -1))                 // [B, H, T, S]
        if let probe { try ActivationProbe.record(probe, logits) }
        if let mask = try additiveMask(bias: bias, queries: t, keys: s, dtype: logits.dtype, device: q.device) {
            logits = try logits + mask
        }
        let weights = try logits.softmax(dim: -1).dropout(dropout, training: training)  // [B, H, T, S]
        return try weights.headMatmul(v)                                         // [B, H, T, D]
    }

    /// libtorch's fused kernel: the same inputs and result as ``explicit(_:_:_:bias:training:probe:)``.
    /// Its causal flag aligns the mask top-left and refuses an additive mask beside it, so a causal
    /// attention with a bias (T5's decoder) or with more keys than queries passes the mask as −∞ in the bias.
    func fused(_ q: Tensor, _ k: Tensor, _ v: Tensor, bias: Tensor?, training: Bool) throws -> Tensor {
        let (t, s) = (q.shape[2], k.shape[2])
        let causalFlag = causal && bias == nil && t == s
        var mask = causalFlag ? nil : try additiveMask(bias: bias, queries: t, keys: s, dtype: q.dtype, device: q.device)
        // The kernel wants the mask in q's dtype (bfloat16 under autocast).
        if let m = mask, m.dtype != q.dtype { mask = try m.to(q.dtype) }
        return try Tensor.scaledDotProductAttention(q: q, k: k, v: v, mask: mask, dropout: training ? dropout : 0,
                                                    causal: causalFlag, scale: scale)                // [B, H, T, D]
    }

    /// What both kernels add to the logits: the bias, plus the causal mask when the attention is causal; nil
    /// when neither. Adding 0 or −∞ gives the same logits as filling the future with −∞, and the add's backward
    /// is the identity (no kernel): 1.2–1.6× faster attention than masked_fill (docs/BENCHMARKS.md).
    func additiveMask(bias: Tensor?, queries t: Int, keys s: Int, dtype: DType, device: Device) throws -> Tensor? {
        guard causal else { return bias }
        let future = try causalMask(queries: t, keys: s, dtype: dtype, device: device)  // [T, S]
        return try bias.map { try $0 + future } ?? future
    }

    /// The causal mask: [T, S], 0 where query i may see key j (j ≤ i + S − T) and −∞ above that diagonal (the
    /// future), in `dtype`; made once per shape, dtype and device.
    func causalMask(queries t: Int, keys s: Int, dtype: DType, device: Device) throws -> Tensor {
        try MultiHeadAttention.masks.value(for: MaskKey(queries: t, keys: s, dtype: dtype, device: device)) {
            let future = try Tensor.ones([t, s], device: device).triu(s - t + 1).gt(0)              // [T, S] bool
            return try Tensor.zeros([t, s], dtype: dtype, device: device).maskedFill(future, -.infinity)  // [T, S]
        }
    }
    struct MaskKey: Hashable { var queries: Int, keys: Int, dtype: DType, device: Device }
    static let masks = TensorCache<MaskKey, Tensor>()

    /// [B, T, H·D] → [B, H, T, D]
    func splitHeads(_ x: Tensor) throws -> Tensor {
        try x.view([x.shape[0], x.shape[1], heads, headDim]).transpose(1, 2)
    }
}

/// Rotary position embeddings in Hugging Face's `rotate_half` convention (LlamaRotaryEmbedding):
/// θ_i = base^(−2i/D), angle(t, i) = t·θ_i, and x ↦ x·cos + rotate_half(x)·sin with the cos/sin tables
/// repeated over the two halves of the head: rotate_half([x₁, x₂]) = [−x₂, x₁].
public struct RotaryEmbedding {
    public var headDim: Int
    public var base: Double

    public init(headDim: Int, base: Double = 10_000) {
        self.headDim = headDim
        self.base = base
    }

    /// cos and sin tables [T, D] for positions offset ..< offset + T, on `device`: rows of one cached pair of
    /// tables from position 0 (every layer's q and k use the same rows each step), made longer when asked for
    /// more positions. A row is the same numbers whatever the tables' length.
    public func tables(length: Int, offset: Int = 0, device: Device = .cpu) throws -> (cos: Tensor, sin: Tensor) {
        let full = try RotaryEmbedding.tables.value(for: TableKey(headDim: headDim, base: base, device: device),
                                                    isUsable: { $0.cos.shape[0] >= offset + length }) {
            try makeTables(length: offset + length, device: device)
        }
        return (try full.cos.narrow(0, start: offset, length: length), try full.sin.narrow(0, start: offset, length: length))
    }
    struct TableKey: Hashable { var headDim: Int, base: Double, device: Device }
    static let tables = TensorCache<TableKey, (cos: Tensor, sin: Tensor)>()

    /// The tables for positions 0 ..< length.
    func makeTables(length: Int, device: Device) throws -> (cos: Tensor, sin: Tensor) {
        let half = headDim / 2
        let inverseFrequencies = (0 ..< half).map { Float(1 / Foundation.pow(base, Double(2 * $0) / Double(headDim))) }
        let positions = try Tensor.arange(0, Double(length), dtype: .float32, device: device).unsqueeze(1)  // [T, 1]
        let frequencies = try positions * Tensor(inverseFrequencies, shape: [1, half], device: device)                            // [T, D/2]
        let angles = try Tensor.cat([frequencies, frequencies], dim: -1)                                           // [T, D]
        return (try angles.cos(), try angles.sin())
    }

    /// x [B, H, T, D] rotated by its positions (offset ..< offset + T).
    public func callAsFunction(_ x: Tensor, offset: Int = 0) throws -> Tensor {
        let (cos, sin) = try tables(length: x.shape[2], offset: offset, device: x.device)
        let half = headDim / 2
        let rotated = try Tensor.cat([x.narrow(-1, start: half, length: half).neg(), x.narrow(-1, start: 0, length: half)], dim: -1)
        return try x * cos + rotated * sin
    }
}

/// Tensors made once and shared by every model in the process (behind a lock: runs may train on several
/// threads), keyed by what they depend on.
final class TensorCache<Key: Hashable, Value>: @unchecked Sendable {
    private var values: [Key: Value] = [:]
    private let lock = NSLock()

    /// The value cached for `key` when `isUsable` accepts it; else `make()`'s, cached in its place.
    func value(for key: Key, isUsable: (Value) -> Bool = { _ in true }, make: () throws -> Value) rethrows -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let cached = values[key], isUsable(cached) { return cached }
        let made = try make()
        values[key] = made
        return made
    }
}
