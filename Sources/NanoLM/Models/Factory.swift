import ModelSpec
import Torch

/// Builds the model `config` describes, initialised from `seed` under its parametrization (on the CPU,
/// so the weights are the same on every device), then moved to `device`.
public func makeModel(_ config: ModelConfig, seed: UInt64, device: Device = .cpu) throws -> any LanguageModel {
    try config.validate()
    let generator = Generator(seed: seed)
    let model: any LanguageModel = switch config.architecture {
    case .gpt: try GPT(config: config, generator: generator)
    case .llama: try Llama(config: config, generator: generator)
    case .bert: try BERT(config: config, generator: generator)
    case .t5: try T5(config: config, generator: generator)
    }
    try model.move(to: device)
    return model
}
