import Foundation
import ModelSpec

// What only a built model can tell: its tensors' count, and `nanolm params --audit`'s row for each tensor.
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

extension ModelConfig {
    /// Every tensor of a built model with its role, shape, initialisation and multipliers. The roles
    /// come from the model's own declaration (a ``Parameter`` cannot exist without one).
    public func audit(_ model: any LanguageModel) -> [ParameterAuditRow] {
        let output = parametrization.outputMultiplier(width: width, hyper: hyper)
        let tiedName = switch architecture {
        case .gpt: "transformer.wte.weight"
        case .llama: "model.embed_tokens.weight"
        case .bert: "bert.embeddings.word_embeddings.weight"
        case .t5: "shared.weight"
        }
        return model.parameters.map { p in
            var initialization = p.initialization.description
            var note = ""
            if let rows = p.queryRows, parametrization.zeroQuery {
                initialization = rows.count == p.shape[0] ? "zeros" : initialization + ", rows \(rows.lowerBound)..<\(rows.upperBound) zeros"
                note = "zero query"
            }
            var forward = 1.0
            if p.role == .output { forward = output; note = "logits × τ/r" + (parametrization.zeroReadout ? ", zero readout" : "") }
            if tiedEmbeddings && p.name == tiedName { note = "tied readout: logits × \(String(format: "%.4g", output))" }
            if p.queryRows != nil || p.name.hasSuffix("k_proj.weight") || p.name.hasSuffix(".key.weight") || p.name.hasSuffix(".k.weight") {
                note += (note.isEmpty ? "" : "; ") + "q·k × \(String(format: "%.4g", parametrization.attentionScale(headDim: headDim)))"
            }
            return ParameterAuditRow(name: p.name, role: p.role, shape: p.shape, initialization: initialization,
                                     initStd: p.initialization.std, learningRateMultiplier: p.learningRateMultiplier,
                                     forwardMultiplier: forward, note: note)
        }
    }
}
