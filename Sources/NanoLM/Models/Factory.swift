import Torch

/// Builds the model `config` describes, initialised from `seed` under its parametrization.
public func makeModel(_ config: ModelConfig, seed: UInt64) throws -> any LanguageModel {
    try config.validate()
    let generator = Generator(seed: seed)
    switch config.architecture {
    case .gpt: return try GPT(config: config, generator: generator)
    case .llama: return try Llama(config: config, generator: generator)
    case .bert: throw ModelError.invalidConfiguration("architecture bert is not built yet (BERT(config:generator:) lands with the BERT/T5 work)")
    case .t5: throw ModelError.invalidConfiguration("architecture t5 is not built yet (T5(config:generator:) lands with the BERT/T5 work)")
    }
}
