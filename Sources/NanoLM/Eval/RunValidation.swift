import Foundation
import Torch

/// A trained run's final weights measured on its data's fixed validation set, as `nanolm eval loss` does:
/// the same windows the run's own evaluations read (``measureValidation(of:on:windows:batchSize:autocast:device:)``),
/// so two runs of one study are measured on the same tokens and can be compared pairwise
/// (``ValidationMeasurement/pairedStandardError(against:groups:)``).
public struct RunValidation {
    public let directory: URL
    /// The shard directory the set was read from.
    public let data: String
    /// The step the weights are from (the checkpoint's loop state).
    public let step: Int?
    public let measurement: ValidationMeasurement

    /// Loads the run (config.json, checkpoint.safetensors) and measures it on `data` (default: the data.txt it
    /// was trained on) with `tokens` target tokens (default: the run's own `validationTokens`, else its
    /// `evalBatches` batches' worth).
    public init(directory: URL, data given: String? = nil, tokens: Int? = nil, device: Device = .cpu) throws {
        let run = RunDirectory(directory)
        let loaded: (config: TrainingConfig, model: any LanguageModel, step: Int?)
        do { loaded = try run.loadTrainedModel(device: device) } catch let error as RunDirectoryError {
            throw EvalError.checkpoint(error.path, error.problem)
        }
        var config = loaded.config
        guard let data = given ?? run.readData()?.trimmingCharacters(in: .whitespacesAndNewlines), !data.isEmpty else {
            throw EvalError.checkpoint(directory.path, "no data.txt: pass the data it was trained on with --data DIR")
        }
        if let tokens { config.validationTokens = tokens }
        let source = try openTrainingData(data, config: config)
        self.directory = directory
        self.data = data
        self.step = loaded.step
        self.measurement = try measureValidation(of: loaded.model, on: source, windows: config.validationWindows(windowTokens: source.validationWindowTokens),
                                                 batchSize: config.batchSize, autocast: config.autocast, device: device)
    }
}
