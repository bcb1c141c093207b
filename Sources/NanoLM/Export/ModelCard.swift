import Foundation
import ModelSpec

/// The README.md of an export: what the model is, how it was trained, how well, and what the export
/// changed in its weights so that Hugging Face's modules compute nanolm's logits.
enum ModelCard {
    static func render(_ source: ExportSource, weights: HFWeights, dtype: String, hfClass: String, tokenizer: String,
                       hasTokenizer: Bool) -> String {
        let c = source.config, m = c.model, p = m.parametrization
        let isMuP = p.kind == .muP
        let r = p.widthRatio(m.width)
        let tokens = source.summary?.tokens ?? source.step * c.tokensPerStep
        func g(_ x: Double) -> String { String(format: "%.6g", x) }
        var lines = [
            "---",
            "library_name: transformers",
            "tags: [nanolm, \(isMuP ? "mup" : "sp"), \(m.architecture.rawValue)]",
            "---",
            "",
            "# nanolm \(m.architecture.rawValue) (width \(m.width), \(m.layers) layers) — \(hfClass)",
            "",
            "Exported by `nanolm export` from `\(source.directory.path)` at step \(source.step).",
            "",
            "## Architecture",
            "",
            "| field | value |",
            "| --- | --- |",
            "| class | \(hfClass) |",
            "| width (d_model) | \(m.width) |",
            "| layers | \(m.layers)\(m.architecture == .t5 ? " encoder + \(m.layers) decoder" : "") |",
            "| heads × head size | \(m.heads) × \(m.headDim) |",
            "| FFN width | \(m.ffnWidth) |",
            "| vocabulary | \(m.vocabularySize) |",
            "| sequence length | \(m.sequenceLength) |",
            "| readout | \(m.tiedEmbeddings ? "tied to the token embedding" : "its own weight") |",
            "| parameters | \(source.model.parameterCount) |",
            "| weights | \(dtype) |",
            "",
            "## Parametrization",
            "",
            isMuP ? "μP (the paper's Table 2) at base width \(p.baseWidth): width ratio r = \(g(r)), attention scale multiplier/d_head = \(g(p.attentionScale(headDim: m.headDim))), output multiplier τ/r = \(g(m.outputMultiplier))."
                  : "Standard parametrization: attention scale 1/√d_head = \(g(p.attentionScale(headDim: m.headDim))), output multiplier τ = \(g(m.outputMultiplier)).",
            "Hyperparameters: learning rate \(g(m.hyper.learningRate)), init std σ = \(g(m.hyper.initStd)), τ = \(g(m.hyper.outputMultiplier)).",
            "",
            "## Training",
            "",
            "- data: `\(source.data)`; tokenizer: \(tokenizer)",
            "- \(source.step) of \(c.steps) steps, \(c.tokensPerStep) tokens per step: \(tokens) training tokens",
        ]
        if let s = source.summary {
            lines.append("- status: \(s.status.rawValue)" + (s.finalLoss.map { ", final training loss \(String(format: "%.4f", $0))" } ?? ""))
            for rec in s.recorded {
                lines.append("- step \(rec.step): fit loss \(String(format: "%.4f", rec.trainLoss))" + (rec.validationLoss.map { String(format: ", held-out %.4f", $0) } ?? ""))
            }
        } else {
            lines.append("- no summary.json: the run had not finished when exported")
        }
        lines += [
            "",
            "## What the export folded into the weights",
            "",
            "Hugging Face's modules have no place for nanolm's forward multipliers, so the exported weights carry them:",
            "",
            "- attention: nanolm scales q·kᵀ by \(g(p.attentionScale(headDim: m.headDim))), HF's \(hfClass) by \(g(HFWeights.huggingFaceAttentionScale(m))); every query projection (weight and bias) is multiplied by their ratio \(g(weights.queryFactor))" + (weights.queryTensors.isEmpty ? " (1: nothing changed)." : " (\(weights.queryTensors.count) tensors)."),
            m.tiedEmbeddings
                ? "- readout (tied): the logits' multiplier \(g(m.outputMultiplier))\(m.architecture == .t5 ? " times √d_model (undoing HF T5's d_model^-1/2 on a tied readout)" : "") = \(g(weights.readoutFactor)) goes into the final norm: \(weights.readoutTensors.isEmpty ? "factor 1, nothing changed" : weights.readoutTensors.joined(separator: ", "))."
                : "- readout (untied): \(weights.readoutTensors.isEmpty ? "multiplier 1, nothing changed" : "\(weights.readoutTensors.joined(separator: ", ")) multiplied by \(g(weights.readoutFactor))").",
        ]
        if !weights.transposed.isEmpty { lines.append("- GPT-2's Conv1D layers store [in, out]: \(weights.transposed.count) weights transposed.") }
        if m.architecture == .bert { lines.append("- the decoder bias is `cls.predictions.bias` (and `cls.predictions.decoder.bias`).") }
        let auto = ["GPT2LMHeadModel": "AutoModelForCausalLM", "LlamaForCausalLM": "AutoModelForCausalLM",
                    "BertForMaskedLM": "AutoModelForMaskedLM", "T5ForConditionalGeneration": "AutoModelForSeq2SeqLM"][hfClass] ?? "AutoModel"
        lines += [
            "",
            "## Use",
            "",
            "```python",
            "from transformers import \(auto)\(hasTokenizer ? ", AutoTokenizer" : "")",
            "model = \(auto).from_pretrained(\"path/to/this/directory\")",
        ]
        if hasTokenizer { lines.append("tokenizer = AutoTokenizer.from_pretrained(\"path/to/this/directory\")") }
        lines += [
            "```",
            "",
        ]
        return lines.joined(separator: "\n")
    }
}
