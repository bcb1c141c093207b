import Torch

/// A model the trainer can train: GPT, Llama, BERT and T5 alike.
public protocol LanguageModel: Module {
    /// Mean cross-entropy over the target positions that count.
    func loss(_ batch: Batch, training: Bool) throws -> Tensor
    /// Logits [B, T, V] at every target position of `batch`, without dropout (evaluation).
    func logits(for batch: Batch) throws -> Tensor
}

extension LanguageModel {
    /// Cross-entropy at every target position [B, T]; 0 where the target is ``Batch/ignoreIndex``. Evaluation
    /// sums these per row to measure the validation loss and its standard error (``ValidationSet``).
    public func tokenLosses(_ batch: Batch) throws -> Tensor {
        let logits = try self.logits(for: batch)  // [B, T, V]
        let (b, t, v) = (logits.shape[0], logits.shape[1], logits.shape[2])
        return try crossEntropy(logits.reshape([-1, v]), batch.targets.reshape([-1]), reduction: .none,
                                ignoreIndex: Batch.ignoreIndex).reshape([b, t])  // [B, T]
    }
}
