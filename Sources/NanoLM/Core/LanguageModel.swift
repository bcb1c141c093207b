import Torch

/// A model the trainer can train: GPT, Llama, BERT and T5 alike.
public protocol LanguageModel: Module {
    /// Mean cross-entropy over the target positions that count.
    func loss(_ batch: Batch, training: Bool) throws -> Tensor
}
