import Foundation
import ModelSpec

/// Opens the batches a run trains on, for its architecture's objective (causal for GPT and Llama,
/// masked for BERT, span corruption for T5):
/// - `"synthetic"`: uniform random tokens (for benchmarks and smoke tests; nothing to learn);
/// - a directory made by `nanolm data build` (its index.json and token shards).
public func openTrainingData(_ spec: String, config: TrainingConfig) throws -> any BatchSource {
    let model = config.model
    let objective = DataObjective(model.architecture)
    if spec == "synthetic" {
        let v = model.vocabularySize
        var random = CounterRandom(seed: 12345)
        let special = SpecialTokens.synthetic(vocabularySize: v)
        let bound = max(2, v - 3 - min(100, v / 4))  // leave the top ids to special tokens and sentinels
        let tokens = (0 ..< 200_000).map { _ in Int32(random.next(below: bound)) }
        // Held out: 20,000 further draws, never trained on (the validation set was once the last 20,000
        // training tokens; the training tokens are unchanged).
        let validation = (0 ..< 20_000).map { _ in Int32(random.next(below: bound)) }
        switch objective {
        case .causal:
            return try CausalLMBatches(training: tokens, validation: validation, batchSize: config.batchSize,
                                       sequenceLength: model.sequenceLength, seed: config.dataSeed)
        case .masked:
            return try MaskedLMBatches(training: tokens, validation: validation, batchSize: config.batchSize,
                                       sequenceLength: model.sequenceLength, seed: config.dataSeed, special: special)
        case .spans:
            return try SpanCorruptionBatches(training: tokens, validation: validation, batchSize: config.batchSize,
                                             inputLength: model.sequenceLength, seed: config.dataSeed, special: special)
        }
    }
    // Checksums first: a shard zeroed or overwritten in place (right size, wrong tokens) must not train.
    let data = try ShardedData(directory: URL(fileURLWithPath: spec), verifyChecksums: true)
    guard data.index.tokenizer.vocabularySize <= model.vocabularySize else {
        throw ModelError.invalidConfiguration(
            "\(spec) was tokenized with a vocabulary of \(data.index.tokenizer.vocabularySize); the model's vocabularySize is \(model.vocabularySize): set it at least that large")
    }
    return try data.batches(objective, batchSize: config.batchSize, sequenceLength: model.sequenceLength, seed: config.dataSeed)
}

extension SpecialTokens {
    /// The special ids of synthetic data: EOS, [MASK] and [PAD] at the top of the vocabulary.
    public static func synthetic(vocabularySize v: Int) -> SpecialTokens {
        SpecialTokens(vocabularySize: v, eos: v - 1, mask: v - 2, pad: v - 3)
    }
}
