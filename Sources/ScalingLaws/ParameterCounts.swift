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

extension ParameterCounts {
    /// nanoGPT's GPT: learned positions, pre-LayerNorm with biases, GELU MLP of width `ffnWidth`.
    public static func gpt(layers l: Int, width w: Int, vocabulary v: Int, sequenceLength s: Int, ffnWidth f: Int,
                           tiedEmbeddings: Bool) -> ParameterCounts {
        // ln_1, ln_2: 4w; c_attn 3w² + 3w; attn.c_proj w² + w; c_fc w·f + f; mlp.c_proj f·w + w
        let block = 4 * w + (3 * w * w + 3 * w) + (w * w + w) + (w * f + f) + (f * w + w)
        return ParameterCounts(tokenEmbedding: v * w, positionEmbedding: s * w, blocks: l * block, head: 2 * w,
                               readout: tiedEmbeddings ? 0 : v * w)
    }

    /// Llama: RMSNorm gains, q/k/v/o without biases, SwiGLU of width `ffnWidth`, rotary positions (no table).
    public static func llama(layers l: Int, width w: Int, vocabulary v: Int, ffnWidth f: Int, tiedEmbeddings: Bool) -> ParameterCounts {
        // two RMSNorm gains 2w; q, k, v, o 4w²; gate, up, down 3·w·f
        let block = 2 * w + 4 * w * w + 3 * w * f
        return ParameterCounts(tokenEmbedding: v * w, positionEmbedding: 0, blocks: l * block, head: w,
                               readout: tiedEmbeddings ? 0 : v * w)
    }
}
