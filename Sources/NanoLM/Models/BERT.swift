import ModelSpec
import Torch

/// BERT with Hugging Face's BertForMaskedLM state-dict keys: word, position and token-type embeddings
/// with a LayerNorm, post-LayerNorm encoder layers (bidirectional self-attention, GELU MLP), and the MLM
/// head (`cls.predictions`: dense + GELU + LayerNorm, then the decoder onto the vocabulary with its own
/// bias). The decoder is its own `cls.predictions.decoder.weight`, or the word embedding when tied (HF's
/// default). The loss is cross-entropy at the masked positions (targets elsewhere are ignored).
///
/// μP as for GPT: roles set init and learning rate (the MLM transform is a hidden matrix, the decoder the
/// output), `query` starts at zero under zeroQuery, and the decoder's input carries τ/r (its bias does not,
/// as in mup's MuReadout). Batches are packed without padding, so there is no attention mask.
public final class BERT: LanguageModel {
    public let config: ModelConfig
    let wordEmbeddings: Embedding
    let positionEmbeddings: Embedding
    /// Segment embeddings [2, W]; pre-training uses segment 0 only (kept for HF's keys and counts).
    let tokenTypeEmbeddings: Embedding
    let embeddingsNorm: LayerNorm
    let layers: [BERTLayer]
    let transform: Linear
    let transformNorm: LayerNorm
    /// The untied decoder; nil when the word embedding is the readout.
    let decoder: Linear?
    let decoderBias: Parameter

    /// LayerNorm epsilon (HF BertConfig's layer_norm_eps).
    public static let normEps = 1e-12
    /// Segment types (HF BertConfig's type_vocab_size).
    public static let tokenTypes = 2

    public init(config: ModelConfig, generator: Generator) throws {
        try config.validate()
        self.config = config
        let (w, v) = (config.width, config.vocabularySize)
        wordEmbeddings = try Embedding("bert.embeddings.word_embeddings", count: v, width: w)
        positionEmbeddings = try Embedding("bert.embeddings.position_embeddings", count: config.sequenceLength, width: w)
        tokenTypeEmbeddings = try Embedding("bert.embeddings.token_type_embeddings", count: Self.tokenTypes, width: w)
        embeddingsNorm = try LayerNorm("bert.embeddings.LayerNorm", width: w, eps: Self.normEps)
        layers = try (0 ..< config.layers).map { try BERTLayer("bert.encoder.layer.\($0)", config: config) }
        transform = try Linear("cls.predictions.transform.dense", in: w, out: w)
        transformNorm = try LayerNorm("cls.predictions.transform.LayerNorm", width: w, eps: Self.normEps)
        decoder = config.tiedEmbeddings ? nil : try Linear("cls.predictions.decoder", in: w, out: v, bias: false, role: .output)
        decoderBias = try Parameter("cls.predictions.bias", role: .vector, shape: [v])
        try config.parametrization.initialize(parameters, width: w, hyper: config.hyper, generator: generator)
    }

    public var parameters: [Parameter] {
        [wordEmbeddings.weight, positionEmbeddings.weight, tokenTypeEmbeddings.weight] + embeddingsNorm.parameters
            + layers.flatMap(\.parameters) + transform.parameters + transformNorm.parameters
            + (decoder?.parameters ?? []) + [decoderBias]
    }

    public var outputMultiplier: Double { config.outputMultiplier }

    /// ids [B, T] → logits [B, T, V] at every position.
    public func logits(_ ids: Tensor, training: Bool = false) throws -> Tensor {
        let positions = try config.positions(of: ids)                            // [T]
        let segment = try tokenTypeEmbeddings.weight.value.narrow(0, start: 0, length: 1)         // [1, W]: type 0
        var x = try embeddingsNorm(wordEmbeddings(ids) + positionEmbeddings(positions) + segment)  // [B, T, W]
        x = try x.dropout(config.dropout, training: training)
        try ActivationProbe.record("bert.embeddings", x)
        for layer in layers { x = try layer(x, training: training) }
        let h = try transformNorm(transform(x).gelu())                                            // [B, T, W]
        try ActivationProbe.record("cls.predictions.transform", h)
        let logits = try readout(h, weight: (decoder?.weight ?? wordEmbeddings.weight).value, bias: decoderBias.value,
                                 multiplier: outputMultiplier)                                    // [B, T, V]
        try ActivationProbe.record("cls.predictions.decoder", logits)
        return logits
    }

    public func logits(for batch: Batch) throws -> Tensor { try logits(batch.inputs) }

    /// Mean cross-entropy at the masked positions (``Batch/ignoreIndex`` elsewhere).
    public func loss(_ batch: Batch, training: Bool) throws -> Tensor {
        try tokenLoss(logits(batch.inputs, training: training), batch.targets)
    }
}

/// One post-LayerNorm layer: h = LN(x + attn(x)); y = LN(h + output(gelu(intermediate(h)))).
final class BERTLayer: Module {
    let prefix: String
    let query: Linear, key: Linear, value: Linear
    let attentionOutput: Linear
    let attentionNorm: LayerNorm
    let intermediate: Linear
    let output: Linear
    let outputNorm: LayerNorm
    let attention: MultiHeadAttention
    let dropout: Double

    init(_ prefix: String, config: ModelConfig) throws {
        let w = config.width
        self.prefix = prefix
        dropout = config.dropout
        query = try Linear("\(prefix).attention.self.query", in: w, out: w)
        query.weight.queryRows = 0 ..< w
        key = try Linear("\(prefix).attention.self.key", in: w, out: w)
        value = try Linear("\(prefix).attention.self.value", in: w, out: w)
        attentionOutput = try Linear("\(prefix).attention.output.dense", in: w, out: w)
        attentionNorm = try LayerNorm("\(prefix).attention.output.LayerNorm", width: w, eps: BERT.normEps)
        intermediate = try Linear("\(prefix).intermediate.dense", in: w, out: config.ffnWidth)
        output = try Linear("\(prefix).output.dense", in: config.ffnWidth, out: w)
        outputNorm = try LayerNorm("\(prefix).output.LayerNorm", width: w, eps: BERT.normEps)
        attention = MultiHeadAttention(config: config, causal: false)
    }

    var parameters: [Parameter] {
        query.parameters + key.parameters + value.parameters + attentionOutput.parameters + attentionNorm.parameters
            + intermediate.parameters + output.parameters + outputNorm.parameters
    }

    /// x [B, T, W] → [B, T, W]
    func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        let heads = try attention(q: query(x), k: key(x), v: value(x), training: training,
                                  probe: "\(prefix).attention.logits")           // [B, T, W]
        let a = try attentionOutput(heads).dropout(dropout, training: training)
        try ActivationProbe.record("\(prefix).attention", a)
        let h = try attentionNorm(x + a)
        let m = try output(intermediate(h).gelu()).dropout(dropout, training: training)  // [B, T, W]
        try ActivationProbe.record("\(prefix).output", m)
        let y = try outputNorm(h + m)
        try ActivationProbe.record(prefix, y)
        return y
    }
}
