import Foundation
import Torch

/// One run's directory: the only place that knows its layout and its checkpoint format.
///
///     config.json               the TrainingConfig
///     data.txt                  the token data it trains on: a `nanolm data build` directory, or "synthetic"
///     metrics.jsonl             one line per step {step, loss, lr, grad_norm, tokens, tokens_per_s, elapsed},
///                               and {step, tokens, val_loss, val_se, val_targets, val_checksum} at evaluations
///     checkpoint.safetensors    weights ("model." + state-dict key), AdamW moments ("optimizer."), the RNG
///                               states ("rng.global"; "rng.cuda" on a GPU) and the loop state (metadata "nanolm.state"), written
///                               atomically (temporary file + rename)
///     summary.json              the RunSummary, when the run ends (completed, diverged or interrupted)
///     eval.json                 a cached downstream score (``RunScorer``)
///     train.log                 standard error of a run trained in a child process
///     run.lock                  held while a process trains the run (``FileLock``): one writer at a time
///
/// `nanolm train`, the study, the over-training study, `nanolm eval` and export read and write runs through it.
public struct RunDirectory: Hashable, Sendable {
    public let url: URL

    public init(_ url: URL) { self.url = url }
    public init(path: String) { url = URL(fileURLWithPath: path) }

    public var path: String { url.path }
    public var configURL: URL { url.appendingPathComponent("config.json") }
    public var dataURL: URL { url.appendingPathComponent("data.txt") }
    public var metricsURL: URL { url.appendingPathComponent("metrics.jsonl") }
    public var checkpointURL: URL { url.appendingPathComponent("checkpoint.safetensors") }
    public var summaryURL: URL { url.appendingPathComponent("summary.json") }
    public var evalURL: URL { url.appendingPathComponent("eval.json") }
    public var logURL: URL { url.appendingPathComponent("train.log") }
    /// Held (flock, with the pid inside) by the one process that trains the run.
    public var lockURL: URL { url.appendingPathComponent("run.lock") }

    public func create() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }

    // MARK: config.json, data.txt, summary.json

    public var hasConfig: Bool { FileManager.default.fileExists(atPath: configURL.path) }

    public func writeConfig(_ config: TrainingConfig) throws { try JSON.write(config, to: configURL) }

    /// The run's TrainingConfig; an error names the file when it is missing or is not one.
    public func readConfig() throws -> TrainingConfig {
        guard hasConfig else { throw RunDirectoryError(path, "no config.json: is it a run directory written by `nanolm train`?") }
        return try Self.readConfig(configURL)
    }

    /// A TrainingConfig JSON file (a run's config.json, or one written by hand); errors name the file.
    public static func readConfig(_ url: URL) throws -> TrainingConfig { try TrainingConfig.load(url) }

    public func writeData(_ data: String) throws { try data.write(to: dataURL, atomically: true, encoding: .utf8) }

    /// data.txt, or nil when the run has none.
    public func readData() -> String? { try? String(contentsOf: dataURL, encoding: .utf8) }

    /// The data a run trains on: `given` when set (and recorded in data.txt by the caller), else what data.txt
    /// recorded. A resumed run without either is an error: training it on other tokens would be silently wrong.
    public func data(given: String?) throws -> String {
        if let given { return given }
        guard let recorded = readData() else {
            throw RunDirectoryError(dataURL.path, "missing, so the data this run trained on is unknown: pass --data DIR "
                                    + "(the `nanolm data build` directory it used) or --data synthetic")
        }
        return recorded
    }

    public func writeSummary(_ summary: RunSummary) throws { try JSON.write(summary, to: summaryURL) }

    /// summary.json, or nil when the run has not ended (or the file is unreadable: the run is then trained
    /// again from its checkpoint, which rewrites it).
    public func readSummary() -> RunSummary? { try? JSON.read(RunSummary.self, from: summaryURL) }

    /// The summary of a run that ended for good (completed or diverged); nil while it is still to train.
    public var finishedSummary: RunSummary? {
        guard let summary = readSummary(), summary.status != .interrupted else { return nil }
        return summary
    }

    /// The run's learning curve on the fixed validation set: every evaluation (step, training tokens seen,
    /// loss, its standard error, targets evaluated, checksum of the tokens), in step order, from summary.json.
    /// Empty while the run has not ended (an interrupted run's summary holds the evaluations so far) and for
    /// runs that ended before evaluations were kept. A study keeps the same points in its database
    /// (``StudyStore/validationCurves(study:)``). Points share a checksum when they read the same tokens.
    public func validationCurve() -> [ValidationPoint] {
        (readSummary()?.evaluations ?? []).sorted { $0.step < $1.step }
    }

    // MARK: metrics.jsonl

    /// The last training step recorded in metrics.jsonl (read from the file's end), for watching a run that
    /// another process trains; nil before the first step.
    public func lastProgress(totalSteps: Int) -> TrainingProgress? {
        guard let handle = try? FileHandle(forReadingFrom: metricsURL) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return nil }
        try? handle.seek(toOffset: size > 8192 ? size - 8192 : 0)
        guard let tail = try? handle.readToEnd() else { return nil }
        for line in String(decoding: tail, as: UTF8.self).split(separator: "\n").reversed() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = object["step"] as? Int, let loss = object["loss"] as? Double,
                  let tokensPerSecond = object["tokens_per_s"] as? Double, let elapsed = object["elapsed"] as? Double else { continue }
            return TrainingProgress(step: step, totalSteps: totalSteps, loss: loss, learningRate: object["lr"] as? Double ?? 0,
                                    tokensPerSecond: tokensPerSecond, elapsed: elapsed)
        }
        return nil
    }

    // MARK: checkpoint.safetensors

    static let modelPrefix = "model.", optimizerPrefix = "optimizer.", rngKey = "rng.global", cudaRNGKey = "rng.cuda",
               stateKey = "nanolm.state"

    public var hasCheckpoint: Bool { FileManager.default.fileExists(atPath: checkpointURL.path) }

    /// What a checkpoint holds; `rng` and `state` are nil in a file that only carries weights.
    struct Checkpoint {
        var model: [String: Tensor]
        var optimizer: [String: Tensor]
        var rng: Tensor?
        /// The GPU generator's state, for a run trained on CUDA (dropout draws there).
        var cudaRNG: Tensor?
        var state: LoopState?
    }

    func saveCheckpoint(model: [String: Tensor], optimizer: [String: Tensor], rng: Tensor, cudaRNG: Tensor? = nil, state: LoopState) throws {
        var tensors: [String: Tensor] = [:]
        for (name, t) in model { tensors[Self.modelPrefix + name] = t }
        for (name, t) in optimizer { tensors[Self.optimizerPrefix + name] = t }
        tensors[Self.rngKey] = rng
        if let cudaRNG { tensors[Self.cudaRNGKey] = cudaRNG }
        let stateJSON = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try SafeTensors.save(tensors, metadata: [Self.stateKey: stateJSON], to: checkpointURL)
    }

    /// The checkpoint, or nil when there is none; a malformed file is a ``SafeTensorsError`` naming it.
    func loadCheckpoint() throws -> Checkpoint? {
        guard hasCheckpoint else { return nil }
        let contents = try SafeTensors.load(checkpointURL)
        func section(_ prefix: String) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: contents.tensors.compactMap { key, value in
                key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), value) : nil
            })
        }
        var state: LoopState?
        if let json = contents.metadata[Self.stateKey] {
            do { state = try JSONDecoder().decode(LoopState.self, from: Data(json.utf8)) } catch {
                throw SafeTensorsError(file: checkpointURL.path, problem: "metadata \(Self.stateKey) is not a loop state: \(error)")
            }
        }
        return Checkpoint(model: section(Self.modelPrefix), optimizer: section(Self.optimizerPrefix),
                          rng: contents.tensors[Self.rngKey], cudaRNG: contents.tensors[Self.cudaRNGKey], state: state)
    }
}

extension RunDirectory {
    /// A trained run opened for use: its config, its model with the checkpoint's weights on `device`, and the step
    /// those are from (nil when the checkpoint carries no loop state). A missing config or checkpoint is a
    /// ``RunDirectoryError`` that says what to do; a malformed one, a ``SafeTensorsError`` naming the file.
    public func loadTrainedModel(device: Device = .cpu) throws -> (config: TrainingConfig, model: any LanguageModel, step: Int?) {
        let config = try readConfig()
        guard let checkpoint = try loadCheckpoint() else {
            throw RunDirectoryError(path, "no checkpoint.safetensors: train the run first (`nanolm train --resume \(path)`)")
        }
        let model = try makeModel(config.model, seed: config.seed, device: device)
        try model.load(checkpoint.model, from: checkpointURL.path)
        return (config, model, checkpoint.state?.step)
    }
}

/// A run directory that is missing a file or holds a bad one; the message names the path and what to do.
public struct RunDirectoryError: Error, CustomStringConvertible, LocalizedError {
    public let path: String
    public let problem: String
    init(_ path: String, _ problem: String) { self.path = path; self.problem = problem }
    public var description: String { "\(path): \(problem)" }
    public var errorDescription: String? { description }
}
