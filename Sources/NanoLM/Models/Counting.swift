import Foundation

/// Parameter counts of a model, by part, computed from its configuration alone (so a 26B target can be
/// counted without building it). Equal to the built model's tensors (tests check it).
///
/// The count μScaling fits against, ``scaling``, includes the token embedding and the readout (once
/// when tied) and leaves out learned position embeddings: that is nanoGPT's `get_num_params()` and
/// reproduces the paper's Table 3 (docs/DESIGN.md, "Models").
public struct ParameterCounts: Codable, Hashable, Sendable {
    /// Token embedding V·w (also the readout when tied).
    public var tokenEmbedding: Int
    /// Learned position embeddings T·w (GPT, BERT); 0 for rotary or relative positions.
    public var positionEmbedding: Int
    /// All transformer blocks: attention, MLP, their norms and biases.
    public var blocks: Int
    /// The final norm (and any other head parameters that are not the readout matrix).
    public var head: Int
    /// An untied readout V·w; 0 when tied.
    public var readout: Int

    /// Every parameter tensor, each counted once.
    public var total: Int { tokenEmbedding + positionEmbedding + blocks + head + readout }
    /// μScaling's C: everything but position embeddings (the paper's Table 3).
    public var scaling: Int { total - positionEmbedding }
    /// Kaplan et al.'s N: without token, position and readout matrices.
    public var nonEmbedding: Int { total - tokenEmbedding - positionEmbedding - readout }

    public init(tokenEmbedding: Int, positionEmbedding: Int, blocks: Int, head: Int, readout: Int) {
        self.tokenEmbedding = tokenEmbedding
        self.positionEmbedding = positionEmbedding
        self.blocks = blocks
        self.head = head
        self.readout = readout
    }
}

extension ModelConfig {
    /// Parameter counts by part (GPT and Llama; BERT and T5 come with their models).
    public func parameterCounts() throws -> ParameterCounts {
        let (v, w, f, l) = (vocabularySize, width, ffnWidth, layers)
        let readout = tiedEmbeddings ? 0 : v * w
        switch architecture {
        case .gpt:
            // ln_1, ln_2: 4w; c_attn 3w² + 3w; attn.c_proj w² + w; c_fc w·f + f; mlp.c_proj f·w + w
            let block = 4 * w + (3 * w * w + 3 * w) + (w * w + w) + (w * f + f) + (f * w + w)
            return ParameterCounts(tokenEmbedding: v * w, positionEmbedding: sequenceLength * w, blocks: l * block,
                                   head: 2 * w, readout: readout)
        case .llama:
            // two RMSNorm gains 2w; q, k, v, o 4w²; gate, up, down 3·w·f
            let block = 2 * w + 4 * w * w + 3 * w * f
            return ParameterCounts(tokenEmbedding: v * w, positionEmbedding: 0, blocks: l * block, head: w, readout: readout)
        case .bert, .t5:
            throw ModelError.invalidConfiguration("parameter counts for \(architecture.rawValue) are not built yet")
        }
    }

    /// Training FLOPs per token: 3 × forward (backward costs twice the forward), counting 2 FLOPs per
    /// multiply-add of every matrix product — the weight matrices including the readout, and per layer
    /// the attention products q·kᵀ and weights·v over the full sequence (2·2·s·w, no causal halving).
    /// Embedding lookups, norms, biases, activations and softmax are not counted. For GPT this is
    /// Narayanan et al.'s 72·l·w²·(1 + s/(6w) + V/(12·l·w)) per token, i.e. their formula without
    /// activation recomputation (the paper's Eq. 1 uses 96 = 72 · 4/3, with recomputation).
    public func trainingFLOPsPerToken() throws -> Double {
        let (v, w, f, l, s) = (Double(vocabularySize), Double(width), Double(ffnWidth), Double(layers), Double(sequenceLength))
        let matrixWeights: Double
        switch architecture {
        case .gpt: matrixWeights = l * (4 * w * w + 2 * w * f) + v * w
        case .llama: matrixWeights = l * (4 * w * w + 3 * w * f) + v * w
        case .bert, .t5:
            throw ModelError.invalidConfiguration("FLOPs for \(architecture.rawValue) are not built yet")
        }
        let attention = l * 2 * (2 * s * w)
        return 3 * (2 * matrixWeights + attention)
    }
}

extension Module {
    /// Parameter elements of the built model; `includingPositionEmbeddings: false` leaves out learned
    /// position tables (`transformer.wpe`, BERT's `position_embeddings`), giving μScaling's C.
    public func parameterCount(includingPositionEmbeddings: Bool) -> Int {
        parameters.filter { includingPositionEmbeddings || !Self.isPositionEmbedding($0.name) }
            .reduce(0) { $0 + $1.value.count }
    }

    static func isPositionEmbedding(_ name: String) -> Bool {
        name.hasSuffix("wpe.weight") || name.hasSuffix("position_embeddings.weight")
    }
}
