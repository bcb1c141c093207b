import Torch

/// Builds the model `config` describes, initialised from `seed` under its parametrization.
public func makeModel(_ config: ModelConfig, seed: UInt64) throws -> any LanguageModel {
    try config.validate()
    let generator = Generator(seed: seed)
    switch config.architecture {
    case .gpt: return try GPT(config: config, generator: generator)
    case .llama: return try Llama(config: config, generator: generator)
    case .bert: return try BERT(config: config, generator: generator)
    case .t5: return try T5(config: config, generator: generator)
    }
}
