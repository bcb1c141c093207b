import Foundation
import ModelSpec
import Torch

/// The transformers version the exported files are written for and checked with (scripts/deps.sh pins it).
public let huggingFaceTransformersVersion = "4.46.3"

/// config.json and generation_config.json for a model: GPT2Config, LlamaConfig, BertConfig or T5Config with
/// every field that changes the forward pass set explicitly, so nothing falls back to a default that
/// differs from nanolm's (T5's tied readout, its gated FFN, BERT's and T5's epsilons, …).
public enum HFConfig {
    /// The class `AutoModelFor…` builds for each architecture.
    public static func modelClass(_ architecture: Architecture) -> String {
        switch architecture {
        case .gpt: "GPT2LMHeadModel"
        case .llama: "LlamaForCausalLM"
        case .bert: "BertForMaskedLM"
        case .t5: "T5ForConditionalGeneration"
        }
    }

    /// HF's name for a dtype (`torch_dtype`).
    static func torchName(_ dtype: DType) -> String {
        switch dtype {
        case .bfloat16: "bfloat16"
        case .float16: "float16"
        default: "float32"
        }
    }

    /// config.json's fields.
    public static func config(_ model: ModelConfig, special: SpecialTokens, dtype: DType) -> [String: Any] {
        let p = model.dropout
        var c: [String: Any] = [
            "architectures": [modelClass(model.architecture)],
            "vocab_size": model.vocabularySize,
            "tie_word_embeddings": model.tiedEmbeddings,
            "initializer_range": model.hyper.initStd,
            "torch_dtype": torchName(dtype),
            "transformers_version": huggingFaceTransformersVersion,
            "eos_token_id": special.eos,
            "pad_token_id": special.pad,
        ]
        switch model.architecture {
        case .gpt:
            c.merge([
                "model_type": "gpt2", "n_embd": model.width, "n_layer": model.layers, "n_head": model.heads,
                "n_inner": model.ffnWidth, "n_positions": model.sequenceLength, "n_ctx": model.sequenceLength,
                "activation_function": "gelu",                 // torch's exact (erf) GELU, as nanolm's GPT
                "layer_norm_epsilon": 1e-5, "resid_pdrop": p, "embd_pdrop": p, "attn_pdrop": p,
                "scale_attn_weights": true, "scale_attn_by_inverse_layer_idx": false, "reorder_and_upcast_attn": false,
                "bos_token_id": special.eos, "use_cache": true,
            ]) { $1 }
        case .llama:
            c.merge([
                "model_type": "llama", "hidden_size": model.width, "num_hidden_layers": model.layers,
                "num_attention_heads": model.heads, "num_key_value_heads": model.heads, "head_dim": model.headDim,
                "intermediate_size": model.ffnWidth, "hidden_act": "silu", "max_position_embeddings": model.sequenceLength,
                "rms_norm_eps": Llama.normEps, "rope_theta": RotaryEmbedding(headDim: model.headDim).base, "rope_scaling": NSNull(),
                "attention_bias": false, "mlp_bias": false, "attention_dropout": p, "pretraining_tp": 1,
                "bos_token_id": special.eos, "use_cache": true,
            ]) { $1 }
        case .bert:
            c.merge([
                "model_type": "bert", "hidden_size": model.width, "num_hidden_layers": model.layers,
                "num_attention_heads": model.heads, "intermediate_size": model.ffnWidth,
                "hidden_act": "gelu",                          // exact GELU
                "hidden_dropout_prob": p, "attention_probs_dropout_prob": p,
                "max_position_embeddings": model.sequenceLength, "type_vocab_size": BERT.tokenTypes,
                "layer_norm_eps": BERT.normEps, "position_embedding_type": "absolute", "use_cache": false,
            ]) { $1 }
        case .t5:
            c.merge([
                "model_type": "t5", "d_model": model.width, "d_kv": model.headDim, "d_ff": model.ffnWidth,
                "num_layers": model.layers, "num_decoder_layers": model.layers, "num_heads": model.heads,
                "relative_attention_num_buckets": T5.relativeBuckets, "relative_attention_max_distance": T5.relativeMaxDistance,
                // gelu_pytorch_tanh is torch's tanh GELU, the very function nanolm's T5 calls (gelu_new is
                // the same formula written out in Python, equal only to rounding).
                "feed_forward_proj": "gated-gelu_pytorch_tanh", "dense_act_fn": "gelu_pytorch_tanh", "is_gated_act": true,
                "dropout_rate": p, "layer_norm_epsilon": T5.normEps, "initializer_factor": 1.0,
                "is_encoder_decoder": true, "decoder_start_token_id": special.pad, "use_cache": true,
            ]) { $1 }
        }
        return c
    }

    /// generation_config.json for the models that generate (GPT, Llama, T5); nil for BERT.
    public static func generation(_ model: ModelConfig, special: SpecialTokens) -> [String: Any]? {
        var g: [String: Any] = ["eos_token_id": special.eos, "pad_token_id": special.pad,
                                "transformers_version": huggingFaceTransformersVersion]
        switch model.architecture {
        case .gpt, .llama: g["bos_token_id"] = special.eos
        case .t5: g["decoder_start_token_id"] = special.pad
        case .bert: return nil
        }
        return g
    }
}

/// Writes a JSON object with sorted keys, indented, as HF's files are.
func writeJSON(_ object: Any, to url: URL) throws {
    var data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    data.append(0x0A)
    try data.write(to: url, options: .atomic)
}
