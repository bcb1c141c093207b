import Foundation
import ModelSpec
import Torch

// μP's rules (ModelSpec's Parametrization) applied to a built model's tensors.
extension Parametrization {
    /// Initialises `parameters` in order from `generator` and records each one's initialisation and
    /// learning-rate multiplier. Norm gains are the vectors whose names end in a norm's weight
    /// (`ln_*.weight`, `*norm*.weight`, `LayerNorm.weight`, `layer_norm.weight`); query rows
    /// (`Parameter.queryRows`) are zeroed when `zeroQuery`.
    public func initialize(_ parameters: [Parameter], width: Int, hyper: MuHyperParameters,
                           generator: Generator) throws {
        try withNoGrad {
            for p in parameters {
                let isGain = p.role == .vector && Self.isNormGain(p.name)
                let initialization = initialization(p.role, width: width, hyper: hyper, isNormGain: isGain)
                switch initialization {
                case .zeros: try p.value.zero_()
                case .ones: try p.value.fill_(1)
                case .normal(let std): try p.value.normal_(mean: 0, std: std, generator: generator)
                }
                if zeroQuery, let rows = p.queryRows {
                    try p.value.narrow(0, start: rows.lowerBound, length: rows.count).zero_()
                }
                p.initialization = initialization
                p.learningRateMultiplier = learningRateMultiplier(p.role, width: width)
            }
        }
    }

    static func isNormGain(_ name: String) -> Bool {
        guard name.hasSuffix(".weight") else { return false }
        let lower = name.lowercased()
        return lower.contains("norm") || lower.contains(".ln_") || lower.hasPrefix("ln_") || lower.contains(".ln.")
    }
}
