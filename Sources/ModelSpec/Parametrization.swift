import Foundation

/// The μTransferable hyperparameters, chosen at the base width (paper §4.2: learning rate,
/// initialisation standard deviation, output multiplier).
public struct MuHyperParameters: Codable, Hashable, Sendable {
    /// l: the base AdamW learning rate.
    public var learningRate: Double
    /// σ: the initialisation standard deviation.
    public var initStd: Double
    /// τ: the multiplier on the readout's logits.
    public var outputMultiplier: Double

    public init(learningRate: Double = 1e-2, initStd: Double = 0.02, outputMultiplier: Double = 1) {
        self.learningRate = learningRate
        self.initStd = initStd
        self.outputMultiplier = outputMultiplier
    }
}

/// Standard parametrization (SP) or μP, and every rule that follows from it — in one place.
///
/// μP for AdamW, the paper's Table 2, with r = width / baseWidth:
///
/// | tensor role | learning rate | init std | forward multiplier |
/// | --- | --- | --- | --- |
/// | hidden (matrix-like) | l / r | σ / √r (variance σ²/r) | 1 |
/// | input (embeddings) | l | σ | 1 |
/// | vector (biases, gains) | l | zeros / ones | 1 |
/// | output (readout) | l | σ, or zeros with `zeroReadout` | τ / r on the logits |
///
/// plus query projections initialised to zero (`zeroQuery`) and attention logits scaled by
/// `attentionMultiplier / d_head` instead of SP's 1/√d_head. SP applies l, σ and τ at every width
/// unchanged. At the base width (r = 1) the two coincide when their zero-init flags agree, since the
/// default attention multiplier is √(d_head of the base) — see docs/DESIGN.md.
public struct Parametrization: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable { case standard, muP }

    public var kind: Kind
    /// The width at which hyperparameters are searched (μP only).
    public var baseWidth: Int
    /// Initialise query projections to zero (the paper's zero_query).
    public var zeroQuery: Bool
    /// Initialise an untied readout to zero (the paper's zero_emb).
    public var zeroReadout: Bool
    /// μP attention scale numerator: logits · attentionMultiplier / d_head. nil: √64 = 8, so that μP
    /// and SP agree for 64-wide heads.
    public var attentionMultiplier: Double?

    public init(kind: Kind, baseWidth: Int = 256, zeroQuery: Bool? = nil, zeroReadout: Bool? = nil,
                attentionMultiplier: Double? = nil) {
        self.kind = kind
        self.baseWidth = baseWidth
        self.zeroQuery = zeroQuery ?? (kind == .muP)
        self.zeroReadout = zeroReadout ?? (kind == .muP)
        self.attentionMultiplier = attentionMultiplier
    }

    public static let standard = Parametrization(kind: .standard)
    public static func muP(baseWidth: Int = 256) -> Parametrization { Parametrization(kind: .muP, baseWidth: baseWidth) }

    /// r = width / baseWidth under μP; 1 under SP.
    public func widthRatio(_ width: Int) -> Double {
        kind == .muP ? Double(width) / Double(baseWidth) : 1
    }

    /// The factor on the base learning rate for a tensor of `role`.
    public func learningRateMultiplier(_ role: ParameterRole, width: Int) -> Double {
        role == .hidden ? 1 / widthRatio(width) : 1
    }

    /// How to initialise a tensor of `role` (`isNorm`: a norm gain, initialised to ones).
    public func initialization(_ role: ParameterRole, width: Int, hyper: MuHyperParameters,
                               isNormGain: Bool = false) -> Initialization {
        switch role {
        case .hidden: .normal(std: hyper.initStd / widthRatio(width).squareRoot())
        case .input: .normal(std: hyper.initStd)
        case .output: zeroReadout ? .zeros : .normal(std: hyper.initStd)
        case .vector: isNormGain ? .ones : .zeros
        }
    }

    /// The multiplier on the readout's logits: τ / r (μP) or τ (SP).
    public func outputMultiplier(width: Int, hyper: MuHyperParameters) -> Double {
        hyper.outputMultiplier / widthRatio(width)
    }

    /// The scale on attention logits q·k.
    public func attentionScale(headDim: Int) -> Double {
        switch kind {
        case .standard: 1 / Double(headDim).squareRoot()
        case .muP: (attentionMultiplier ?? 8) / Double(headDim)
        }
    }
}

/// What a parameter tensor is to μP (the paper's Table 2; Yang et al. 2022, Table 8).
public enum ParameterRole: String, Codable, CaseIterable, Sendable {
    /// Matrix-like: both dimensions grow with width (attention and MLP weights).
    case hidden
    /// Input weights: one dimension is fixed (vocabulary, positions), one grows (embeddings).
    case input
    /// The readout: maps width to a fixed size (lm_head).
    case output
    /// Vectors and scalars: biases, norm gains.
    case vector
}

/// How a parameter's initial values are drawn.
public enum Initialization: Equatable, CustomStringConvertible {
    case zeros, ones
    case normal(std: Double)

    public var description: String {
        switch self {
        case .zeros: "zeros"
        case .ones: "ones"
        case .normal(let std): String(format: "N(0, %.4g²)", std)
        }
    }

    /// The standard deviation (0 for constants).
    public var std: Double {
        if case .normal(let std) = self { return std }
        return 0
    }
}
