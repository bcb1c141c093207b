import Foundation
import ModelSpec
import Torch

/// nanolm's weights as Hugging Face's modules read them: HF's names and layouts, with μP's two forward
/// multipliers folded into the weights, since HF's GPT2, Llama, BERT and T5 modules have no place for them.
///
/// - Attention: nanolm scales q·kᵀ by s = multiplier/d_head (μP) or 1/√d_head (SP); HF by 1/√d_head
///   (GPT-2, Llama, BERT) or not at all (T5). Scaling the query projection's weight and bias by
///   s / s_HF gives the same logits, since q·kᵀ is linear in q (and rotary positions rotate q linearly).
/// - Readout: nanolm computes (m·h)·Wᵀ + b with m = τ/r (μP) or τ (SP). Untied: W·m. Tied, W is also
///   the input embedding, so m goes into the norm that produces h instead (LN(x)·g + β ↦ LN(x)·(m·g) + m·β);
///   HF's tied T5 multiplies h by 1/√d_model, which the same norm gain undoes (×√d_model).
/// - GPT-2's Conv1D stores [in, out]: nanolm's [out, in] Linear weights are transposed.
/// - BERT's decoder bias is HF's `cls.predictions.bias` and, the same tensor, `cls.predictions.decoder.bias`.
public struct HFWeights {
    /// Tensors by HF state-dict name.
    public var tensors: [String: Tensor]
    /// The factor on every query projection (weights and biases).
    public var queryFactor: Double
    /// The factor on the readout weight (untied) or on the final norm (tied).
    public var readoutFactor: Double
    /// The tensors `readoutFactor` multiplied.
    public var readoutTensors: [String]
    /// The tensors `queryFactor` multiplied.
    public var queryTensors: [String]
    /// The tensors stored transposed (GPT-2's Conv1D).
    public var transposed: [String]

    /// Folds and renames the parameters of a model built from `config`.
    public init(parameters: [Parameter], config: ModelConfig) throws {
        let architecture = config.architecture
        let queryFactor = config.parametrization.attentionScale(headDim: config.headDim) / Self.huggingFaceAttentionScale(config)
        self.queryFactor = queryFactor
        var tensors: [String: Tensor] = [:]
        var queryTensors: [String] = []
        try withNoGrad {
            for p in parameters { tensors[p.name] = try p.value.detach().clone() }
            // Query projections: the rows of each weight that make queries, and the same rows of its bias.
            for p in parameters {
                guard let rows = p.queryRows, queryFactor != 1 else { continue }
                let biasName = String(p.name.dropLast(".weight".count)) + ".bias"
                for name in [p.name, biasName] {
                    guard let t = tensors[name] else { continue }
                    try t.narrow(0, start: rows.lowerBound, length: rows.count).mul_(queryFactor)
                    queryTensors.append(name)
                }
            }
        }
        self.queryTensors = queryTensors

        // The readout: its own weight when untied, the norm in front of it when tied.
        let multiplier = config.outputMultiplier
        let readoutFactor = config.tiedEmbeddings ? multiplier * (architecture == .t5 ? Double(config.width).squareRoot() : 1) : multiplier
        var readoutTensors = config.tiedEmbeddings ? Self.finalNorm(architecture).filter { tensors[$0] != nil }
                                                   : parameters.filter { $0.role == .output }.map(\.name)
        if readoutFactor == 1 { readoutTensors = [] }
        try withNoGrad { for name in readoutTensors { try tensors[name]!.mul_(readoutFactor) } }
        self.readoutFactor = readoutFactor
        self.readoutTensors = readoutTensors

        transposed = []
        if architecture == .gpt {
            for (name, t) in tensors where Self.isConv1D(name) {
                tensors[name] = try t.transpose(0, 1).contiguous()  // [out, in] → [in, out]
                transposed.append(name)
            }
            transposed.sort()
        }
        if architecture == .bert, let bias = tensors["cls.predictions.bias"] {
            tensors["cls.predictions.decoder.bias"] = try bias.clone()
        }
        self.tensors = tensors
    }

    /// The scale HF's attention puts on q·kᵀ: 1/√d_head, except T5's, which has none.
    public static func huggingFaceAttentionScale(_ config: ModelConfig) -> Double {
        config.architecture == .t5 ? 1 : 1 / Double(config.headDim).squareRoot()
    }

    /// The norm whose output a tied readout reads (weight and, where it has one, bias).
    static func finalNorm(_ architecture: Architecture) -> [String] {
        switch architecture {
        case .gpt: ["transformer.ln_f.weight", "transformer.ln_f.bias"]
        case .llama: ["model.norm.weight"]
        case .bert: ["cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias"]
        case .t5: ["decoder.final_layer_norm.weight"]
        }
    }

    /// GPT-2's Conv1D weights: c_attn, c_proj and c_fc in every block.
    static func isConv1D(_ name: String) -> Bool {
        name.hasSuffix(".weight") && [".attn.c_attn.", ".attn.c_proj.", ".mlp.c_fc.", ".mlp.c_proj."].contains { name.contains($0) }
    }

    /// Every tensor converted to `dtype` (contiguous, ready to write).
    public func converted(to dtype: DType) throws -> [String: Tensor] {
        try tensors.mapValues { try ($0.dtype == dtype ? $0 : $0.to(dtype)).contiguous() }
    }
}
