import Foundation

/// The four architectures nanoLM supports (paper §3.2.1).
public enum Architecture: String, Codable, CaseIterable, Sendable {
    case gpt, llama, bert, t5
}

/// Everything that defines a model's shape and parametrization. Widths vary across a μScaling series;
/// everything else stays fixed.
public struct ModelConfig: Codable, Hashable, Sendable {
    public var architecture: Architecture
    /// Transformer blocks (for T5: in each of the encoder and the decoder).
    public var layers: Int
    /// d_model: the hidden size, the dimension μP scales.
    public var width: Int
    /// Vocabulary size (the paper pads GPT-2's to 50304, a multiple of 64).
    public var vocabularySize: Int
    /// Longest sequence (learned positions for GPT/BERT; rotary and relative positions need no table).
    public var sequenceLength: Int
    /// Head size, fixed across widths (the paper: 64; heads = width / headDim).
    public var headDim: Int
    /// FFN hidden size as a multiple of width (4 for GPT/BERT; Llama's SwiGLU and T5's gated GELU
    /// use their own conventions, see each model's file).
    public var ffnRatio: Double
    public var dropout: Double
    /// Readout shares the token embedding (nanoGPT, BERT, T5 v1.0 style) or has its own weight.
    public var tiedEmbeddings: Bool
    public var parametrization: Parametrization
    public var hyper: MuHyperParameters

    public init(architecture: Architecture, layers: Int = 2, width: Int = 128, vocabularySize: Int = 512,
                sequenceLength: Int = 64, headDim: Int = 64, ffnRatio: Double = 4, dropout: Double = 0,
                tiedEmbeddings: Bool = false, parametrization: Parametrization = .muP(baseWidth: 256),
                hyper: MuHyperParameters = MuHyperParameters()) {
        self.architecture = architecture
        self.layers = layers
        self.width = width
        self.vocabularySize = vocabularySize
        self.sequenceLength = sequenceLength
        self.headDim = headDim
        self.ffnRatio = ffnRatio
        self.dropout = dropout
        self.tiedEmbeddings = tiedEmbeddings
        self.parametrization = parametrization
        self.hyper = hyper
    }

    /// Attention heads: width / headDim.
    public var heads: Int { width / headDim }

    /// The MLP's hidden size: round(ffnRatio · width) (GPT's 4·width; Llama's SwiGLU uses the same
    /// rule, which is what the paper's Table 3 counts — see docs/DESIGN.md, "Models").
    public var ffnWidth: Int { Int((ffnRatio * Double(width)).rounded()) }

    /// The factor on the readout's logits: τ/r under μP, τ under SP.
    public var outputMultiplier: Double { parametrization.outputMultiplier(width: width, hyper: hyper) }

    /// Checks the numbers fit together; the error names the field.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ModelError.invalidConfiguration(message) } }
        // Sizes within ``Limits`` keep every parameter count and FLOP product below Int.max.
        try check((1 ... Limits.layers).contains(layers), "layers must be in 1...\(Limits.layers), got \(layers)")
        try check((1 ... Limits.width).contains(width), "width must be in 1...\(Limits.width), got \(width)")
        try check((1 ... width).contains(headDim), "headDim must be in 1...width (\(width)), got \(headDim)")
        try check(width % headDim == 0, "width \(width) must be a multiple of headDim \(headDim)")
        try check((2 ... Limits.vocabularySize).contains(vocabularySize), "vocabularySize must be in 2...\(Limits.vocabularySize), got \(vocabularySize)")
        try check((1 ... Limits.sequenceLength).contains(sequenceLength), "sequenceLength must be in 1...\(Limits.sequenceLength), got \(sequenceLength)")
        try check(ffnRatio > 0 && ffnRatio <= Limits.ffnRatio && ffnWidth >= 1,
                  "ffnRatio must be in (0, \(Limits.ffnRatio)] with an MLP of at least 1 unit, got \(ffnRatio)")
        try check(dropout >= 0 && dropout < 1, "dropout must be in [0, 1), got \(dropout)")
        try check((1 ... Limits.width).contains(parametrization.baseWidth), "baseWidth must be in 1...\(Limits.width), got \(parametrization.baseWidth)")
        try check(hyper.initStd >= 0 && hyper.initStd.isFinite && hyper.outputMultiplier.isFinite && hyper.learningRate.isFinite,
                  "initStd, outputMultiplier and learningRate must be finite (initStd ≥ 0), got \(hyper.initStd), \(hyper.outputMultiplier), \(hyper.learningRate)")
    }
}
