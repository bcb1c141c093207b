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
        var config: TrainingConfig
        do { config = try run.readConfig() } catch let error as RunDirectoryError { throw EvalError.checkpoint(error.path, error.problem) }
        guard let data = given ?? run.readData()?.trimmingCharacters(in: .whitespacesAndNewlines), !data.isEmpty else {
            throw EvalError.checkpoint(directory.path, "no data.txt: pass the data it was trained on with --data DIR")
        }
        if let tokens { config.validationTokens = tokens }
        guard let checkpoint = try run.loadCheckpoint() else {
            throw EvalError.checkpoint(directory.path, "no checkpoint.safetensors: train the run first (`nanolm train --resume \(directory.path)`)")
        }
        let model = try makeModel(config.model, seed: config.seed, device: device)
        try model.load(checkpoint.model, from: run.checkpointURL.path)
        let source = try openTrainingData(data, config: config)
        self.directory = directory
        self.data = data
        self.step = checkpoint.state?.step
        self.measurement = try measureValidation(of: model, on: source, windows: config.validationWindows(windowTokens: source.validationWindowTokens),
                                                 batchSize: config.batchSize, autocast: config.autocast, device: device)
    }
}
