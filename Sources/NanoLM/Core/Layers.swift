import ModelSpec
import Torch

// The building blocks every architecture shares. Each takes its state-dict prefix at construction,
// so parameter names match PyTorch / Hugging Face keys (`<prefix>.weight`, `<prefix>.bias`).

/// y = x·Wᵀ + b, W: [out, in] as in torch.nn.Linear.
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?

    public init(_ prefix: String, in inputs: Int, out outputs: Int, bias: Bool = true, role: ParameterRole = .hidden) throws {
        weight = try Parameter("\(prefix).weight", role: role, shape: [outputs, inputs])
        self.bias = bias ? try Parameter("\(prefix).bias", role: .vector, shape: [outputs]) : nil
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        weight.value.isStacked(overRank: 2) ? try stacked(x) : try x.linear(weight.value, bias: bias?.value)
    }
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}

/// A lookup table [count, width] (token or position embeddings).
public final class Embedding: Module {
    public let weight: Parameter

    public init(_ prefix: String, count: Int, width: Int) throws {
        weight = try Parameter("\(prefix).weight", role: .input, shape: [count, width])
    }

    /// ids [..] → [.., width]
    public func callAsFunction(_ ids: Tensor) throws -> Tensor {
        weight.value.isStacked(overRank: 2) ? try stacked(ids) : try weight.value.embedding(ids)
    }
    public var parameters: [Parameter] { [weight] }
}

/// LayerNorm over the last dimension, with gain and optional bias.
public final class LayerNorm: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let eps: Double

    public init(_ prefix: String, width: Int, bias: Bool = true, eps: Double = 1e-5) throws {
        weight = try Parameter("\(prefix).weight", role: .vector, shape: [width])
        self.bias = bias ? try Parameter("\(prefix).bias", role: .vector, shape: [width]) : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        if weight.value.isStacked(overRank: 1) { return try stacked(x) }
        return try x.layerNorm([weight.shape[0]], weight: weight.value, bias: bias?.value, eps: eps)
    }
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}

/// RMSNorm (Llama; T5's LayerNorm): x / √(mean(x²) + eps) · g, computed in float32.
public final class RMSNorm: Module {
    public let weight: Parameter
    public let eps: Double

    public init(_ prefix: String, width: Int, eps: Double = 1e-6) throws {
        weight = try Parameter("\(prefix).weight", role: .vector, shape: [width])
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let x32 = x.dtype == .float32 ? x : try x.to(.float32)
        let normed = try x32 * (x32.pow(2).mean(dim: -1, keepDim: true) + eps).rsqrt()
        return weight.value.isStacked(overRank: 1) ? try normed.timesPerRun(weight.value) : try normed * weight.value
    }
    public var parameters: [Parameter] { [weight] }
}
