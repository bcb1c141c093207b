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
    /// Everything outside the blocks that is not a token, position or readout matrix: final norms, and
    /// BERT's token-type table, embedding LayerNorm, MLM transform and decoder bias, T5's relative-position
    /// tables.
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

    /// BERT (HF BertForMaskedLM): word, position and 2 token-type embeddings with a LayerNorm; post-LN
    /// layers with biases and a GELU MLP of width `ffnWidth`; the MLM head's dense + LayerNorm, the decoder
    /// (the word embedding when tied) and its bias. bert-base (12 × 768, V 30522, 512 positions, tied) is
    /// 109,514,298, HF's count for BertForMaskedLM.
    public static func bert(layers l: Int, width w: Int, vocabulary v: Int, sequenceLength s: Int, ffnWidth f: Int,
                            tiedEmbeddings: Bool) -> ParameterCounts {
        // query, key, value, attention.output.dense 4w² + 4w; two LayerNorms 4w; intermediate w·f + f; output f·w + w
        let block = (4 * w * w + 4 * w) + 4 * w + (w * f + f) + (f * w + w)
        // token types 2w, embeddings LayerNorm 2w, transform dense w² + w and LayerNorm 2w, decoder bias v
        let head = 2 * w + 2 * w + (w * w + w) + 2 * w + v
        return ParameterCounts(tokenEmbedding: v * w, positionEmbedding: s * w, blocks: l * block, head: head,
                               readout: tiedEmbeddings ? 0 : v * w)
    }

    /// T5 v1.1 (HF T5ForConditionalGeneration): `layers` blocks in each of encoder and decoder, no biases,
    /// RMSNorm gains, gated-GELU FFN of width `ffnWidth`, a [buckets, heads] relative-position table per
    /// stack, shared token embedding, untied `lm_head` unless tied. t5-v1_1-base (12 + 12 × 768, FFN 2048,
    /// 12 heads, V 32128) is 247,577,856, HF's count.
    public static func t5(layers l: Int, width w: Int, vocabulary v: Int, ffnWidth f: Int, heads h: Int,
                          tiedEmbeddings: Bool, relativeBuckets: Int = 32) -> ParameterCounts {
        // encoder: q, k, v, o 4w², wi_0, wi_1, wo 3·w·f, two norms 2w
        let encoderBlock = 4 * w * w + 3 * w * f + 2 * w
        // decoder: self and cross attention 8w², FFN 3·w·f, three norms 3w
        let decoderBlock = 8 * w * w + 3 * w * f + 3 * w
        // two relative-position tables, two final norms
        let head = 2 * relativeBuckets * h + 2 * w
        return ParameterCounts(tokenEmbedding: v * w, positionEmbedding: 0, blocks: l * (encoderBlock + decoderBlock),
                               head: head, readout: tiedEmbeddings ? 0 : v * w)
    }
}
