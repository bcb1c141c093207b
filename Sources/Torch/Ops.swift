import CTorch

// Tensor operations. Each is one shim call; on failure it throws a TorchError naming the op and shapes.

// MARK: - Elementwise

extension Tensor {
    public func neg() throws -> Tensor { try Tensor.make("neg", [self]) { ct_neg(handle) } }
    public func abs() throws -> Tensor { try Tensor.make("abs", [self]) { ct_abs(handle) } }
    public func exp() throws -> Tensor { try Tensor.make("exp", [self]) { ct_exp(handle) } }
    public func log() throws -> Tensor { try Tensor.make("log", [self]) { ct_log(handle) } }
    public func sqrt() throws -> Tensor { try Tensor.make("sqrt", [self]) { ct_sqrt(handle) } }
    public func rsqrt() throws -> Tensor { try Tensor.make("rsqrt", [self]) { ct_rsqrt(handle) } }
    public func sin() throws -> Tensor { try Tensor.make("sin", [self]) { ct_sin(handle) } }
    public func cos() throws -> Tensor { try Tensor.make("cos", [self]) { ct_cos(handle) } }
    public func tanh() throws -> Tensor { try Tensor.make("tanh", [self]) { ct_tanh(handle) } }
    public func sigmoid() throws -> Tensor { try Tensor.make("sigmoid", [self]) { ct_sigmoid(handle) } }
    public func relu() throws -> Tensor { try Tensor.make("relu", [self]) { ct_relu(handle) } }
    public func silu() throws -> Tensor { try Tensor.make("silu", [self]) { ct_silu(handle) } }
    /// GELU, exact (erf) or with the tanh approximation GPT-2 uses.
    public func gelu(approximateTanh: Bool = false) throws -> Tensor {
        try Tensor.make("gelu", [self]) { ct_gelu(handle, approximateTanh ? 1 : 0) }
    }
    public func isFinite() throws -> Tensor { try Tensor.make("isfinite", [self]) { ct_isfinite(handle) } }
    public func logicalNot() throws -> Tensor { try Tensor.make("logical_not", [self]) { ct_logical_not(handle) } }

    public func pow(_ exponent: Double) throws -> Tensor {
        try Tensor.make("pow", [self]) { ct_pow_scalar(handle, exponent) }
    }
    public func pow(_ exponent: Tensor) throws -> Tensor {
        try Tensor.make("pow", [self, exponent]) { ct_pow(handle, exponent.handle) }
    }
    public func maximum(_ other: Tensor) throws -> Tensor {
        try Tensor.make("maximum", [self, other]) { ct_maximum(handle, other.handle) }
    }
    public func minimum(_ other: Tensor) throws -> Tensor {
        try Tensor.make("minimum", [self, other]) { ct_minimum(handle, other.handle) }
    }
    public func clamp(min lo: Double = -.infinity, max hi: Double = .infinity) throws -> Tensor {
        try Tensor.make("clamp", [self]) { ct_clamp(handle, lo, hi) }
    }

    /// `where(condition, self, other)`: self where `condition` holds, else other.
    public func replacing(where condition: Tensor, with other: Tensor) throws -> Tensor {
        try Tensor.make("where", [condition, other, self]) { ct_where(condition.handle, other.handle, handle) }
    }
    /// Elements of `a` where `condition` holds, else of `b`.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try make("where", [condition, a, b]) { ct_where(condition.handle, a.handle, b.handle) }
    }
    /// A copy with `value` wherever `mask` is true.
    public func maskedFill(_ mask: Tensor, _ value: Double) throws -> Tensor {
        try Tensor.make("masked_fill", [self, mask]) { ct_masked_fill(handle, mask.handle, value) }
    }
}

// MARK: - Operators

public func + (a: Tensor, b: Tensor) throws -> Tensor { try Tensor.make("add", [a, b]) { ct_add(a.handle, b.handle) } }
public func - (a: Tensor, b: Tensor) throws -> Tensor { try Tensor.make("sub", [a, b]) { ct_sub(a.handle, b.handle) } }
public func * (a: Tensor, b: Tensor) throws -> Tensor { try Tensor.make("mul", [a, b]) { ct_mul(a.handle, b.handle) } }
public func / (a: Tensor, b: Tensor) throws -> Tensor { try Tensor.make("div", [a, b]) { ct_div(a.handle, b.handle) } }
public func + (a: Tensor, s: Double) throws -> Tensor { try Tensor.make("add", [a]) { ct_add_scalar(a.handle, s) } }
public func - (a: Tensor, s: Double) throws -> Tensor { try Tensor.make("sub", [a]) { ct_add_scalar(a.handle, -s) } }
public func * (a: Tensor, s: Double) throws -> Tensor { try Tensor.make("mul", [a]) { ct_mul_scalar(a.handle, s) } }
public func / (a: Tensor, s: Double) throws -> Tensor { try Tensor.make("div", [a]) { ct_mul_scalar(a.handle, 1 / s) } }
public func + (s: Double, a: Tensor) throws -> Tensor { try a + s }
public func - (s: Double, a: Tensor) throws -> Tensor { try Tensor.make("rsub", [a]) { ct_rsub_scalar(a.handle, s) } }
public func * (s: Double, a: Tensor) throws -> Tensor { try a * s }
public func / (s: Double, a: Tensor) throws -> Tensor { try Tensor.make("rdiv", [a]) { ct_rdiv_scalar(a.handle, s) } }
public prefix func - (a: Tensor) throws -> Tensor { try a.neg() }

// MARK: - Comparisons (bool results)

extension Tensor {
    enum Comparison: Int32 { case eq = 0, ne, lt, le, gt, ge }

    func compare(_ op: Comparison, _ other: Tensor) throws -> Tensor {
        try Tensor.make("compare.\(op)", [self, other]) { ct_compare(handle, other.handle, op.rawValue) }
    }
    func compare(_ op: Comparison, _ value: Double) throws -> Tensor {
        try Tensor.make("compare.\(op)", [self]) { ct_compare_scalar(handle, value, op.rawValue) }
    }
    public func eq(_ other: Tensor) throws -> Tensor { try compare(.eq, other) }
    public func eq(_ value: Double) throws -> Tensor { try compare(.eq, value) }
    public func ne(_ value: Double) throws -> Tensor { try compare(.ne, value) }
    public func lt(_ value: Double) throws -> Tensor { try compare(.lt, value) }
    public func le(_ value: Double) throws -> Tensor { try compare(.le, value) }
    public func gt(_ value: Double) throws -> Tensor { try compare(.gt, value) }
    public func ge(_ value: Double) throws -> Tensor { try compare(.ge, value) }
    public func lt(_ other: Tensor) throws -> Tensor { try compare(.lt, other) }
    public func gt(_ other: Tensor) throws -> Tensor { try compare(.gt, other) }
}

// MARK: - Linear algebra

extension Tensor {
    /// Matrix product with broadcasting over batch dimensions.
    public func matmul(_ other: Tensor) throws -> Tensor {
        try Tensor.make("matmul", [self, other]) { ct_matmul(handle, other.handle) }
    }
    /// Attention's product per head, [B, H, m, k] · [B, H, k, n] → [B, H, m, n]: the same numbers as
    /// ``matmul(_:)``, bit for bit, without copying strided heads first (on Debian's OpenBLAS libtorch, one
    /// sgemm per head on the views; elsewhere `matmul` itself).
    public func headMatmul(_ other: Tensor) throws -> Tensor {
        try Tensor.make("head_matmul", [self, other]) { ct_head_matmul(handle, other.handle) }
    }
    /// Batched matrix product of [b, n, m] and [b, m, p].
    public func bmm(_ other: Tensor) throws -> Tensor {
        try Tensor.make("bmm", [self, other]) { ct_bmm(handle, other.handle) }
    }
    /// x·Wᵀ + b, with W of shape [out, in] as in torch.nn.Linear.
    public func linear(_ weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        try Tensor.make("linear", [self, weight] + (bias.map { [$0] } ?? [])) {
            ct_linear(handle, weight.handle, bias?.handle)
        }
    }
}

// MARK: - Reductions

extension Tensor {
    /// Sum over `dims` (all dimensions when empty).
    public func sum(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor {
        try withInt64s(dims) { d, n in try Tensor.make("sum", [self]) { ct_sum(handle, d, n, keepDim ? 1 : 0) } }
    }
    public func sum(dim: Int, keepDim: Bool = false) throws -> Tensor { try sum(dims: [dim], keepDim: keepDim) }

    /// Mean over `dims` (all dimensions when empty).
    public func mean(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor {
        try withInt64s(dims) { d, n in try Tensor.make("mean", [self]) { ct_mean(handle, d, n, keepDim ? 1 : 0) } }
    }
    public func mean(dim: Int, keepDim: Bool = false) throws -> Tensor { try mean(dims: [dim], keepDim: keepDim) }

    /// The largest element.
    public func max() throws -> Tensor { try Tensor.make("max", [self]) { ct_max_all(handle) } }

    /// The largest values along `dim` and where they are.
    public func max(dim: Int, keepDim: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        var values: OpaquePointer?
        var indices: OpaquePointer?
        try Tensor.check("max", [self], ct_max_dim(handle, Int64(dim), keepDim ? 1 : 0, &values, &indices))
        return (Tensor(owning: values!), Tensor(owning: indices!))
    }

    public func argmax(dim: Int, keepDim: Bool = false) throws -> Tensor {
        try Tensor.make("argmax", [self]) { ct_argmax(handle, Int64(dim), keepDim ? 1 : 0) }
    }

    /// The p-norm over `dims` (of all elements when empty).
    public func norm(_ p: Double = 2, dims: [Int] = [], keepDim: Bool = false) throws -> Tensor {
        try withInt64s(dims) { d, n in try Tensor.make("norm", [self]) { ct_norm(handle, p, d, n, keepDim ? 1 : 0) } }
    }
}

// MARK: - Shapes

extension Tensor {
    public func reshape(_ shape: [Int]) throws -> Tensor {
        try withInt64s(shape) { s, n in try Tensor.make("reshape", [self]) { ct_reshape(handle, s, n) } }
    }
    /// Like reshape, but never copies: fails when the memory layout does not allow it.
    public func view(_ shape: [Int]) throws -> Tensor {
        try withInt64s(shape) { s, n in try Tensor.make("view", [self]) { ct_view(handle, s, n) } }
    }
    public func expand(_ shape: [Int]) throws -> Tensor {
        try withInt64s(shape) { s, n in try Tensor.make("expand", [self]) { ct_expand(handle, s, n) } }
    }
    public func permute(_ dims: [Int]) throws -> Tensor {
        try withInt64s(dims) { d, n in try Tensor.make("permute", [self]) { ct_permute(handle, d, n) } }
    }
    public func transpose(_ dim0: Int, _ dim1: Int) throws -> Tensor {
        try Tensor.make("transpose", [self]) { ct_transpose(handle, Int64(dim0), Int64(dim1)) }
    }
    public func unsqueeze(_ dim: Int) throws -> Tensor {
        try Tensor.make("unsqueeze", [self]) { ct_unsqueeze(handle, Int64(dim)) }
    }
    public func squeeze(_ dim: Int) throws -> Tensor { try Tensor.make("squeeze", [self]) { ct_squeeze(handle, Int64(dim)) } }
    public func contiguous() throws -> Tensor { try Tensor.make("contiguous", [self]) { ct_contiguous(handle) } }

    /// `length` elements along `dim` starting at `start` (a view).
    public func narrow(_ dim: Int, start: Int, length: Int) throws -> Tensor {
        try Tensor.make("narrow", [self]) { ct_narrow(handle, Int64(dim), Int64(start), Int64(length)) }
    }
    /// Elements start..<end along `dim`, every `step`-th (a view).
    public func slice(_ dim: Int, _ start: Int, _ end: Int, step: Int = 1) throws -> Tensor {
        try Tensor.make("slice", [self]) { ct_slice(handle, Int64(dim), Int64(start), Int64(end), Int64(step)) }
    }

    /// Pieces of `size` elements along `dim` (the last may be shorter).
    public func split(size: Int, dim: Int = 0) throws -> [Tensor] {
        guard size > 0 else { throw TorchError(op: "split", shapes: [shape], message: "split size must be positive, got \(size)") }
        let extent = shape[(dim + rank) % Swift.max(rank, 1)]
        let capacity = Swift.max(1, (extent + size - 1) / size)
        var handles = [OpaquePointer?](repeating: nil, count: capacity)
        let n = ct_split(handle, Int64(size), Int64(dim), &handles, Int32(capacity))
        if n < 0 { throw TorchError.last("split", [self]) }
        return handles.prefix(Int(n)).map { Tensor(owning: $0!) }
    }
    /// `chunks` pieces of (nearly) equal size along `dim`.
    public func chunk(_ chunks: Int, dim: Int = 0) throws -> [Tensor] {
        let extent = shape[(dim + rank) % Swift.max(rank, 1)]
        return try split(size: (extent + chunks - 1) / chunks, dim: dim)
    }

    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        return try handles.withUnsafeBufferPointer { buffer in
            try make("cat", tensors) { ct_cat(buffer.baseAddress, Int32(buffer.count), Int64(dim)) }
        }
    }
    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        return try handles.withUnsafeBufferPointer { buffer in
            try make("stack", tensors) { ct_stack(buffer.baseAddress, Int32(buffer.count), Int64(dim)) }
        }
    }

    public func indexSelect(dim: Int, index: Tensor) throws -> Tensor {
        try Tensor.make("index_select", [self, index]) { ct_index_select(handle, Int64(dim), index.handle) }
    }
    public func gather(dim: Int, index: Tensor) throws -> Tensor {
        try Tensor.make("gather", [self, index]) { ct_gather(handle, Int64(dim), index.handle) }
    }
    /// The upper triangle (elements on and above diagonal `k`), zeros elsewhere.
    public func triu(_ k: Int = 0) throws -> Tensor { try Tensor.make("triu", [self]) { ct_triu(handle, Int64(k)) } }
    /// The lower triangle (elements on and below diagonal `k`), zeros elsewhere.
    public func tril(_ k: Int = 0) throws -> Tensor { try Tensor.make("tril", [self]) { ct_tril(handle, Int64(k)) } }
}

// MARK: - Conversion

extension Tensor {
    /// A copy in `dtype` on `device` (this tensor itself when nothing changes).
    public func to(_ dtype: DType? = nil, device: Device? = nil) throws -> Tensor {
        let dtype = dtype ?? self.dtype
        let device = device ?? self.device
        return try Tensor.make("to", [self]) { ct_to(handle, dtype.rawValue, device.code) }
    }
    public func clone() throws -> Tensor { try Tensor.make("clone", [self]) { ct_clone(handle) } }
}

// MARK: - Neural-network functions

extension Tensor {
    public func softmax(dim: Int) throws -> Tensor { try Tensor.make("softmax", [self]) { ct_softmax(handle, Int64(dim)) } }
    public func logSoftmax(dim: Int) throws -> Tensor {
        try Tensor.make("log_softmax", [self]) { ct_log_softmax(handle, Int64(dim)) }
    }

    /// Layer normalisation over the trailing `normalizedShape` dimensions.
    public func layerNorm(_ normalizedShape: [Int], weight: Tensor?, bias: Tensor?, eps: Double = 1e-5) throws -> Tensor {
        let operands = [self] + [weight, bias].compactMap { $0 }
        return try withInt64s(normalizedShape) { s, n in
            try Tensor.make("layer_norm", operands) { ct_layer_norm(handle, s, n, weight?.handle, bias?.handle, eps) }
        }
    }

    /// Rows of this [vocabulary, width] matrix picked by integer `indices`: shape indices.shape + [width].
    public func embedding(_ indices: Tensor) throws -> Tensor {
        try Tensor.make("embedding", [self, indices]) { ct_embedding(handle, indices.handle) }
    }

    /// Zeroes elements with probability `p` and scales the rest by 1/(1−p) when `training`.
    public func dropout(_ p: Double, training: Bool) throws -> Tensor {
        if p == 0 || !training { return self }
        return try Tensor.make("dropout", [self]) { ct_dropout(handle, p, 1) }
    }
}

extension Tensor {
    /// softmax(scale · q·kᵀ + mask) · v through libtorch's fused kernel (flash / memory-efficient / math,
    /// libtorch picks): q [B, H, T, D], k and v [B, H, S, D] → [B, H, T, D]. `mask` is added to the logits
    /// (broadcastable to [B, H, T, S]); `causal` hides the future (top-left aligned, so T == S for
    /// self-attention); `dropout` applies to the probabilities. Only where
    /// ``Torch/hasScaledDotProductAttention``; elsewhere it throws.
    public static func scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor? = nil, dropout: Double = 0,
                                                 causal: Bool = false, scale: Double) throws -> Tensor {
        try make("scaled_dot_product_attention", [q, k, v] + (mask.map { [$0] } ?? [])) {
            ct_sdpa(q.handle, k.handle, v.handle, mask?.handle, dropout, causal ? 1 : 0, scale)
        }
    }
}

/// How a loss over many elements is reduced to one number.
public enum Reduction: Int32, Sendable {
    case none = 0, mean = 1, sum = 2
}

/// Cross-entropy of `logits` [N, C] against class indices `target` [N]; targets equal to
/// `ignoreIndex` contribute nothing (and are not counted by `.mean`).
public func crossEntropy(_ logits: Tensor, _ target: Tensor, reduction: Reduction = .mean,
                         ignoreIndex: Int = -100) throws -> Tensor {
    try Tensor.make("cross_entropy", [logits, target]) {
        ct_cross_entropy(logits.handle, target.handle, reduction.rawValue, Int64(ignoreIndex))
    }
}

// MARK: - In place (for optimizers)

extension Tensor {
    /// self += alpha · other
    public func add_(_ other: Tensor, alpha: Double = 1) throws {
        try Tensor.check("add_", [self, other], ct_add_(handle, other.handle, alpha))
    }
    /// self *= other
    public func mul_(_ other: Tensor) throws { try Tensor.check("mul_", [self, other], ct_mul_(handle, other.handle)) }
    /// self *= s
    public func mul_(_ s: Double) throws { try Tensor.check("mul_", [self], ct_mul_scalar_(handle, s)) }
    /// self += value · t1 · t2
    public func addcmul_(_ t1: Tensor, _ t2: Tensor, value: Double = 1) throws {
        try Tensor.check("addcmul_", [self, t1, t2], ct_addcmul_(handle, t1.handle, t2.handle, value))
    }
    /// self += value · t1 / t2
    public func addcdiv_(_ t1: Tensor, _ t2: Tensor, value: Double = 1) throws {
        try Tensor.check("addcdiv_", [self, t1, t2], ct_addcdiv_(handle, t1.handle, t2.handle, value))
    }
    /// Copies `source` (broadcast, converted) into self.
    public func copy_(_ source: Tensor) throws { try Tensor.check("copy_", [self, source], ct_copy_(handle, source.handle)) }
    public func zero_() throws { try Tensor.check("zero_", [self], ct_zero_(handle)) }
    public func fill_(_ value: Double) throws { try Tensor.check("fill_", [self], ct_fill_(handle, value)) }
}

extension Tensor {
    /// torch.optim.AdamW's update (amsgrad off) on every tensor of `parameters` at once, through libtorch's
    /// fused kernel: p ← p·(1 − lr·wd), m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², p ← p − lr/(1 − β₁ᵗ) ·
    /// m / (√v / √(1 − β₂ᵗ) + ε) with t = `step` (1 on the first update). The four lists are parallel and on
    /// one device; parameters and moments change in place. Only where ``Torch/hasFusedAdamW``; elsewhere
    /// it throws.
    public static func fusedAdamW_(parameters: [Tensor], gradients: [Tensor], exponentialAverages: [Tensor],
                                   exponentialSquares: [Tensor], step: Int, learningRate: Double, beta1: Double,
                                   beta2: Double, weightDecay: Double, eps: Double) throws {
        let lists = [parameters, gradients, exponentialAverages, exponentialSquares]
        guard lists.allSatisfy({ $0.count == parameters.count }) else {
            throw TorchError(op: "_fused_adamw_", shapes: [], message: "parameters, gradients and moments must be parallel lists, got \(lists.map(\.count)) tensors")
        }
        let handles = lists.map { list in list.map { Optional($0.handle) } }
        try handles[0].withUnsafeBufferPointer { p in
            try handles[1].withUnsafeBufferPointer { g in
                try handles[2].withUnsafeBufferPointer { m in
                    try handles[3].withUnsafeBufferPointer { v in
                        try check("_fused_adamw_", parameters, ct_fused_adamw_(p.baseAddress, g.baseAddress, m.baseAddress, v.baseAddress,
                                                                               Int32(p.count), Int64(step), learningRate, beta1, beta2, weightDecay, eps))
                    }
                }
            }
        }
    }
}
