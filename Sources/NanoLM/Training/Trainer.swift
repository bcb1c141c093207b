import Foundation
import ModelSpec
import Torch

/// One training run in its own ``RunDirectory`` (config.json, metrics.jsonl, checkpoint.safetensors, summary.json).
///
/// `run()` resumes from the checkpoint when there is one and continues the same loss trajectory bitwise
/// (same batches by construction, same weights, moments and RNG state).
public final class Trainer {
    public let config: TrainingConfig
    public let model: any LanguageModel
    public let data: any BatchSource
    public let directory: URL
    let files: RunDirectory
    /// Called between backward and the optimizer step with every parameter: the one place where
    /// gradients can be all-reduced across processes (data parallelism).
    public var afterBackward: (([Parameter]) throws -> Void)?
    /// Data parallelism: gradients and losses are averaged over the group, and only rank 0 writes files.
    /// Set it before `run()`; the data source should be this rank's ``RankSlice``.
    public var dataParallel: DataParallel?
    var isPrimary: Bool { dataParallel?.isPrimary ?? true }

    /// AdamW over every parameter, or over this rank's shard with ZeRO-1 (`DataParallel.shardsOptimizerState`).
    var optimizer: AdamW!
    /// Where the model, its batches and the optimizer state live (resolved from `config.device` by `run()`).
    public private(set) var device = Device.cpu
    var state = LoopState()
    var warnedShortValidation = false

    public init(config: TrainingConfig, model: any LanguageModel, data: any BatchSource, directory: URL) throws {
        try config.validate()
        self.config = config
        self.model = model
        self.data = data
        self.directory = directory
        files = RunDirectory(directory)
    }

    /// What the run noticed but could go on from (unreadable metrics lines dropped on resume), also on standard error.
    public private(set) var warnings: [String] = []

    /// Trains to `config.steps` (or until divergence or a stop request), calling `progress` after every
    /// step, and returns the summary it also writes to summary.json.
    @discardableResult
    public func run(progress: (TrainingProgress) -> Void = { _ in }) throws -> RunSummary {
        if let threads = config.threads { Torch.threadCount = threads }
        Torch.retainFreedMemory()  // no page faults for the activations every step re-allocates
        device = try (config.device ?? .auto).resolve(slot: dataParallel?.rank ?? 0)
        if config.autocast, device == .meta {
            throw ModelError.invalidConfiguration("autocast runs on the CPU or CUDA, not on \(device); train without --autocast")
        }
        try model.move(to: device)
        dataParallel?.device = device
        if isPrimary { try files.create() }
        // One process trains a run at a time: a second one fails here, naming the first, and never
        // interleaves its lines into metrics.jsonl.
        let lock = isPrimary ? try FileLock.acquire(files.lockURL, what: "run \(directory.path)") : nil
        defer { withExtendedLifetime(lock) {} }
        if isPrimary { try files.writeConfig(config) }
        optimizer = try AdamW(dataParallel?.optimizerParameters(model.parameters) ?? model.parameters, options: config.optimizer)
        let resumed = try resumeIfPossible()
        try dataParallel?.synchronize(model.parameters)
        let metrics = isPrimary ? try MetricsLog(url: files.metricsURL, keepingStepsThrough: resumed ? state.step : 0) : nil
        if let warning = metrics?.droppedWarning {
            warnings.append(warning)
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        let schedule = config.schedule
        let started = Date()
        let elapsedBefore = state.elapsed
        var status: RunSummary.Status = state.divergedAt == nil ? .completed : .diverged
        StopRequest.install()

        while state.divergedAt == nil && state.step < config.steps {
            let step = state.step  // 0-based index of the update being made
            let lr = schedule.learningRate(at: step)
            var loss = 0.0
            for micro in 0 ..< config.gradientAccumulation {
                let batch = try data.trainingBatch(step: step, micro: micro).moved(to: device)
                let l = try forward(batch, training: true)
                try (config.gradientAccumulation == 1 ? l : l / Double(config.gradientAccumulation)).backward()
                loss += try l.item() / Double(config.gradientAccumulation)
            }
            if let dataParallel { loss = try dataParallel.average(loss) }
            if state.initialLoss == nil { state.initialLoss = loss }
            if !loss.isFinite || loss > state.initialLoss! * config.divergenceFactor {
                for p in model.parameters { try p.value.zeroGrad() }
                state.divergedAt = step + 1
                state.step += 1
                try metrics?.append(["step": step + 1, "loss": loss.isFinite ? loss : -1, "diverged": true])
                status = .diverged
                break
            }
            try dataParallel?.averageGradients(model.parameters)
            try afterBackward?(model.parameters)
            let gradNorm = config.clipNorm > 0 ? try clipGradientNorm(model.parameters, maxNorm: config.clipNorm) : 0
            try optimizer.update(learningRate: lr)
            try dataParallel?.gatherUpdatedParameters(model.parameters)
            for p in model.parameters { try p.value.zeroGrad() }

            state.step += 1
            state.tokens = try checkedTokens(state.tokens, plus: config.tokensPerStep)
            state.recentLosses.append(loss)
            if state.recentLosses.count > config.lossWindow { state.recentLosses.removeFirst() }
            state.elapsed = elapsedBefore + Date().timeIntervalSince(started)
            let tokensPerSecond = Double(state.tokens - (resumed ? state.tokensAtResume : 0)) / max(Date().timeIntervalSince(started), 1e-9)
            try metrics?.append(["step": state.step, "loss": loss, "lr": lr, "grad_norm": gradNorm, "tokens": state.tokens,
                                "tokens_per_s": tokensPerSecond, "elapsed": state.elapsed])

            let recording = config.recordSteps.contains(state.step) || state.step == config.steps
            if recording || config.evalSteps.contains(state.step) {
                let validation = try evaluate().point(step: state.step, tokens: state.tokens)
                state.evaluations = (state.evaluations ?? []) + [validation]
                try metrics?.append(validation.metricsLine)
                if recording {
                    let window = state.recentLosses.reduce(0, +) / Double(state.recentLosses.count)
                    state.recorded.append(RecordedLoss(step: state.step, trainLoss: window, validationLoss: validation.loss))
                }
            }
            progress(TrainingProgress(step: state.step, totalSteps: config.steps, loss: loss, learningRate: lr,
                              tokensPerSecond: tokensPerSecond, elapsed: state.elapsed))

            if try stopRequested() { status = .interrupted; break }
            if config.checkpointEvery > 0, state.step % config.checkpointEvery == 0, state.step < config.steps {
                try saveCheckpoint()
            }
        }
        try saveCheckpoint()
        let summary = RunSummary(
            status: status, steps: state.step, divergedAtStep: state.divergedAt, recorded: state.recorded,
            finalLoss: state.recentLosses.last, parameterCount: model.parameterCount, tokens: state.tokens,
            tokensPerSecond: Double(state.tokens - (resumed ? state.tokensAtResume : 0)) / max(Date().timeIntervalSince(started), 1e-9),
            elapsed: state.elapsed, peakResidentBytes: peakResidentBytes(), evaluations: state.evaluations)
        if isPrimary { try files.writeSummary(summary) }
        return summary
    }

    /// A stop request on any rank stops every rank at the same step.
    func stopRequested() throws -> Bool {
        guard let dataParallel else { return StopRequest.isRequested }
        return try dataParallel.average(StopRequest.isRequested ? 1 : 0) > 0
    }

    /// The model's loss on a batch, under autocast when configured.
    func forward(_ batch: Batch, training: Bool) throws -> Tensor {
        config.autocast ? try withAutocast(.bfloat16, on: device) { try model.loss(batch, training: training) }
                        : try model.loss(batch, training: training)
    }

    /// The model's per-token losses on the fixed validation set (``measureValidation(of:on:windows:batchSize:autocast:device:)``):
    /// ``TrainingConfig/validationWindows(windowTokens:)`` windows; a warning, once, when the split holds fewer.
    public func evaluate() throws -> ValidationMeasurement {
        let asked = config.validationWindows(windowTokens: data.validationWindowTokens)
        if data.validationWindowCount < asked && !warnedShortValidation {
            warnedShortValidation = true
            let warning = "the validation split holds \(data.validationWindowCount) windows of \(data.validationWindowTokens) tokens, "
                + "fewer than the \(asked) asked for: every evaluation reads all of them"
            warnings.append(warning)
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        return try measureValidation(of: model, on: data, windows: asked, batchSize: config.batchSize, autocast: config.autocast, device: device)
    }

    // MARK: Checkpoints

    func saveCheckpoint() throws {
        // With a sharded optimizer every rank takes part in gathering the moments; rank 0 writes.
        let optimizerState = try dataParallel?.gatherOptimizerState(optimizer, model.parameters) ?? optimizer.state()
        guard isPrimary else { return }
        var cudaRNG: Tensor?
        if case .cuda = device { cudaRNG = try Torch.generatorState(on: device) }  // dropout's draws there
        try files.saveCheckpoint(model: try model.stateDict(), optimizer: optimizerState, rng: try Torch.globalGeneratorState(),
                                 cudaRNG: cudaRNG, state: state)
    }

    /// Loads the checkpoint if present; true when the run resumes from it.
    func resumeIfPossible() throws -> Bool {
        guard let checkpoint = try files.loadCheckpoint() else {
            Torch.manualSeed(config.seed)
            return false
        }
        let path = files.checkpointURL.path
        try model.load(checkpoint.model, from: path)
        try optimizer.load(checkpoint.optimizer, from: path)
        guard let rng = checkpoint.rng, let loaded = checkpoint.state
        else { throw SafeTensorsError(file: path, problem: "not a nanolm checkpoint (no loop state or RNG state)") }
        guard (0 ... config.steps).contains(loaded.step), (0 ... Limits.totalTokens).contains(loaded.tokens) else {
            throw SafeTensorsError(file: path, problem: "loop state step \(loaded.step), tokens \(loaded.tokens) lie outside 0...\(config.steps) steps and 0...\(Limits.totalTokens) tokens: not this run's checkpoint (delete it to start over)")
        }
        try Torch.setGlobalGeneratorState(rng)
        if case .cuda = device, let cudaRNG = checkpoint.cudaRNG { try Torch.setGeneratorState(cudaRNG, on: device) }
        state = loaded
        state.tokensAtResume = state.tokens
        return true
    }
}

/// `tokens + more`, or an error when the sum overflows (a checkpoint's count is only bounded, not trusted).
func checkedTokens(_ tokens: Int, plus more: Int) throws -> Int {
    let (sum, overflow) = tokens.addingReportingOverflow(more)
    guard !overflow else { throw ModelError.invalidConfiguration("the token count \(tokens) + \(more) overflows") }
    return sum
}

/// What the loop carries from step to step (saved in the checkpoint).
struct LoopState: Codable {
    var step = 0
    var tokens = 0
    var tokensAtResume = 0
    var elapsed: TimeInterval = 0
    var initialLoss: Double?
    var recentLosses: [Double] = []
    var recorded: [RecordedLoss] = []
    var divergedAt: Int?
    /// Every evaluation on the validation set so far (nil in checkpoints written before they were kept).
    var evaluations: [ValidationPoint]?
}

/// A loss recorded for the fit at a recording step.
public struct RecordedLoss: Codable, Hashable, Sendable {
    public var step: Int
    /// Mean training loss over the `lossWindow` steps up to `step`.
    public var trainLoss: Double
    /// Mean held-out loss at `step`.
    public var validationLoss: Double?
}

/// How a run ended, and what it measured.
public struct RunSummary: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case completed, diverged, interrupted }
    public var status: Status
    public var steps: Int
    public var divergedAtStep: Int?
    public var recorded: [RecordedLoss]
    public var finalLoss: Double?
    public var parameterCount: Int
    public var tokens: Int
    public var tokensPerSecond: Double
    public var elapsed: TimeInterval
    public var peakResidentBytes: Int
    /// Every evaluation on the fixed validation set, in step order: the run's learning curve
    /// (``RunDirectory/validationCurve()``). nil in summaries written before it was kept.
    public var evaluations: [ValidationPoint]? = nil
}

/// Reported after every step.
public struct TrainingProgress: Codable, Sendable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Double
    public var learningRate: Double
    public var tokensPerSecond: Double
    public var elapsed: TimeInterval
}

/// The metrics JSONL file; on resume, lines past the checkpoint's step are dropped (they are redone), and
/// so are lines that do not parse (a line cut short by a kill), counted in ``dropped``.
final class MetricsLog {
    let url: URL
    let handle: FileHandle
    /// 1-based numbers of the unreadable lines dropped on resume.
    let dropped: [Int]
    /// What a resumed run tells its user about ``dropped``; nil when nothing was.
    var droppedWarning: String? {
        dropped.first.map { "\(url.path): \(dropped.count) unreadable line(s) dropped on resume (first: line \($0)); their steps are trained again" }
    }

    init(url: URL, keepingStepsThrough lastStep: Int) throws {
        var kept = Data()
        var dropped: [Int] = []
        if lastStep > 0, let old = try? String(contentsOf: url, encoding: .utf8) {
            for (number, line) in old.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let step = object["step"] as? Int else { dropped.append(number + 1); continue }
                if step <= lastStep { kept.append(contentsOf: Array(line.utf8) + [0x0A]) }
            }
        }
        self.url = url
        self.dropped = dropped
        try kept.write(to: url, options: .atomic)
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    func append(_ object: [String: Any]) throws {
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        data.append(0x0A)
        try handle.write(contentsOf: data)
    }
}

/// Small JSON helpers for run files.
enum JSON {
    static func write<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: url, options: .atomic)
    }

    static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: url))
    }
}

/// The process's peak resident memory (VmHWM), in bytes.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kb * 1024
}
