import Foundation
import ModelSpec
import Torch

/// What multiple-choice scoring needs from a model: next-token logits at every position, and the
/// longest sequence it was built for. GPT and Llama conform; BERT and T5 are not causal and do not.
public protocol CausalLanguageModel: AnyObject {
    /// The longest input the model takes (its `ModelConfig.sequenceLength`).
    var maxSequenceLength: Int { get }
    /// V, the size of the logits' last dimension.
    var vocabularySize: Int { get }
    /// Where its parameters live (inputs go there).
    var device: Device { get }
    /// ids [B, T] → logits [B, T, V]; position t predicts token t + 1.
    func logits(_ ids: Tensor, training: Bool) throws -> Tensor
}

extension GPT: CausalLanguageModel {
    public var maxSequenceLength: Int { config.sequenceLength }
    public var vocabularySize: Int { config.vocabularySize }
}

extension Llama: CausalLanguageModel {
    public var maxSequenceLength: Int { config.sequenceLength }
    public var vocabularySize: Int { config.vocabularySize }
}

/// A trained run directory opened for evaluation: its config, its final weights, its summary.
public struct EvalCheckpoint {
    public let directory: URL
    public let config: TrainingConfig
    public let model: any CausalLanguageModel
    /// summary.json, when the run has finished.
    public let summary: RunSummary?
    /// The step the weights are from (the checkpoint's loop state).
    public let step: Int?

    /// Reads the run's config.json and checkpoint.safetensors (see ``RunDirectory``), with the model on `device`.
    public init(directory: URL, device: Device = .cpu) throws {
        let run = RunDirectory(directory)
        let (config, model, step): (TrainingConfig, any LanguageModel, Int?)
        do { (config, model, step) = try run.loadTrainedModel(device: device) } catch let error as RunDirectoryError {
            throw EvalError.checkpoint(error.path, error.problem)
        }
        guard let causal = model as? any CausalLanguageModel else {
            throw EvalError.checkpoint(directory.path, "architecture \(config.model.architecture.rawValue) is not a causal language model; multiple-choice scoring needs GPT or Llama")
        }
        self.directory = directory
        self.config = config
        self.model = causal
        self.summary = run.readSummary()
        self.step = step
    }
}

/// A problem with evaluation input: a task file (with its line), a checkpoint, a data directory.
public enum EvalError: Error, CustomStringConvertible {
    case badLine(file: String, line: Int, reason: String)
    case taskFile(String, String)
    case checkpoint(String, String)
    case data(String, String)
    case model(String)

    public var description: String {
        switch self {
        case let .badLine(file, line, reason): return "\(file):\(line): \(reason)"
        case let .taskFile(file, reason): return "\(file): \(reason)"
        case let .checkpoint(path, reason): return "\(path): \(reason)"
        case let .data(path, reason): return "\(path): \(reason)"
        case let .model(reason): return reason
        }
    }
}
