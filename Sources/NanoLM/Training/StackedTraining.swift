import Foundation
import ModelSpec
import Torch

/// Same-shape runs trained together as one stacked model (issue 19): R GPT or Llama runs that differ only in
/// their μP hyperparameters (l, σ, τ), seeds and batch order train as one ``StackedDecoder`` — batched
/// matmuls over a leading run dimension — and each ends exactly as its ``Trainer`` alone would end it:
///
/// - initialisation: each run's model is built from its own seed and σ, then the models are stacked;
/// - its own batches (its data source), learning-rate schedule, μP learning-rate multipliers and decoupled
///   weight decay (``StackedAdamW``), τ on its logits, and gradient clipping over its own slices;
/// - its own loss: one mean per run; backward takes their sum, and since the runs share no parameter
///   each run's gradients are those of its loss alone;
/// - its own divergence: a run whose loss is not finite or exceeds `divergenceFactor` × its first loss is
///   written as diverged (as ``Trainer`` writes it) and leaves the stack; the others go on unaffected;
/// - its own ``RunDirectory``: config.json, metrics.jsonl, checkpoint.safetensors with its slice, and
///   summary.json — what the study, `nanolm eval` and export read. A run resumes from its checkpoint
///   stacked again or alone (the files are the same).
///
/// The losses agree with each run trained alone within float32 rounding (batched matmuls and per-run
/// reductions sum in other orders), not bitwise (docs/DESIGN.md, "Same-shape runs trained together").
public final class StackedTrainer {
    /// One run of the stack: what its ``Trainer`` would be given.
    public struct Run {
        public var config: TrainingConfig
        public var data: any BatchSource
        public var directory: URL
        public init(config: TrainingConfig, data: any BatchSource, directory: URL) {
            self.config = config
            self.data = data
            self.directory = directory
        }
    }

    public let runs: [Run]
    /// What the runs noticed but could go on from (unreadable metrics lines dropped on resume), also on standard error.
    public private(set) var warnings: [String] = []
    /// The budget, shape and options every run shares (the first run's config).
    var config: TrainingConfig { runs[0].config }

    public init(runs: [Run]) throws {
        for run in runs { try run.config.validate() }
        if let obstacle = Self.obstacle(runs.map(\.config)) { throw ModelError.invalidConfiguration("cannot train these runs stacked: \(obstacle)") }
        self.runs = runs
    }

    /// nil when runs of these configs can train as one stack; otherwise why not, in words for a log.
    public static func obstacle(_ configs: [TrainingConfig]) -> String? {
        guard let first = configs.first else { return "no runs" }
        guard StackedDecoder.supports(first.model.architecture) else {
            return "\(first.model.architecture.rawValue) runs train one by one (stacking covers the decoders GPT and Llama)"
        }
        guard first.model.dropout == 0 else { return "dropout is on (stacked runs would draw other dropout masks than alone)" }
        guard !first.autocast else { return "autocast is on (stacking is checked in float32 only)" }
        guard configs.allSatisfy({ $0.stackingShape == first.stackingShape }) else {
            return "the runs differ in more than learning rate, init std, output multiplier, seed and data seed"
        }
        return nil
    }

    /// Trains every run to `config.steps` (or until it diverges, or a stop request), calling `progress` with
    /// the run's index after each of its steps; returns the runs' summaries, in order, as written to their
    /// summary.json.
    @discardableResult
    public func run(progress: (Int, TrainingProgress) -> Void = { _, _ in }) throws -> [RunSummary] {
        if let threads = config.threads { Torch.threadCount = threads }
        Torch.retainFreedMemory()  // as Trainer: no page faults for the activations every step re-allocates
        let device = try (config.device ?? .auto).resolve(slot: 0)
        let files = runs.map { RunDirectory($0.directory) }
        for f in files { try f.create() }
        let locks = try files.map { try FileLock.acquire($0.lockURL, what: "run \($0.path)") }
        defer { withExtendedLifetime(locks) {} }
        for (f, run) in zip(files, runs) { try f.writeConfig(run.config) }

        // Each run as it would start (or resume) alone, then stacked.
        var states: [LoopState] = []
        var rngStates: [Tensor] = []
        var optimizers: [AdamW] = []
        var models: [any LanguageModel] = []
        for (f, run) in zip(files, runs) {
            let model = try makeModel(run.config.model, seed: run.config.seed)
            let optimizer = try AdamW(model.parameters, options: run.config.optimizer)
            let resumed = try f.loadCheckpoint()
            if let checkpoint = resumed {
                try model.load(checkpoint.model, from: f.checkpointURL.path)
                try optimizer.load(checkpoint.optimizer, from: f.checkpointURL.path)
                guard let rng = checkpoint.rng, let state = checkpoint.state, (0 ... config.steps).contains(state.step) else {
                    throw SafeTensorsError(file: f.checkpointURL.path, problem: "not a nanolm checkpoint of this run (no loop state or RNG state, or a step outside 0...\(config.steps))")
                }
                states.append(state)
                rngStates.append(rng)
            } else {
                states.append(LoopState())
                rngStates.append(try Generator(seed: run.config.seed).state())  // the global generator after Torch.manualSeed(seed)
            }
            models.append(model)
            optimizers.append(optimizer)
        }
        guard states.allSatisfy({ $0.step == states[0].step }) else {
            throw ModelError.invalidConfiguration("runs resume from checkpoints at different steps (\(states.map(\.step))): train them one by one")
        }
        let parameterCount = models[0].parameterCount
        let model = try StackedDecoder(models)
        try model.move(to: device)
        let optimizer = try StackedAdamW(model.host.parameters, stacking: optimizers)
        models = []
        optimizers = []
        for i in states.indices { states[i].tokensAtResume = states[i].tokens }

        let metrics = try zip(files, states).map { f, state in try MetricsLog(url: f.metricsURL, keepingStepsThrough: state.step) }
        for warning in metrics.compactMap(\.droppedWarning) {
            warnings.append(warning)
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        var status = states.map { $0.divergedAt == nil ? RunSummary.Status.completed : .diverged }
        /// The runs still in the stack, by their index in `runs`, in stack order.
        var active = runs.indices.filter { states[$0].divergedAt == nil }
        try model.keep(active)
        try optimizer.keep(active)
        let started = Date()
        let elapsedBefore = states.map(\.elapsed)
        func tokensPerSecond(_ r: Int) -> Double {
            Double(states[r].tokens - states[r].tokensAtResume) / max(Date().timeIntervalSince(started), 1e-9)
        }
        func save(_ r: Int, position: Int) throws {
            var cudaRNG: Tensor?
            if case .cuda = device { cudaRNG = try Torch.generatorState(on: device) }
            try files[r].saveCheckpoint(model: model.stateDict(run: position), optimizer: optimizer.state(run: position),
                                        rng: rngStates[r], cudaRNG: cudaRNG, state: states[r])
        }
        func finish(_ r: Int) throws -> RunSummary {
            let summary = RunSummary(
                status: status[r], steps: states[r].step, divergedAtStep: states[r].divergedAt, recorded: states[r].recorded,
                finalLoss: states[r].recentLosses.last, parameterCount: parameterCount, tokens: states[r].tokens,
                tokensPerSecond: tokensPerSecond(r), elapsed: states[r].elapsed, peakResidentBytes: peakResidentBytes(),
                evaluations: states[r].evaluations)
            try files[r].writeSummary(summary)
            return summary
        }
        var summaries: [RunSummary?] = Array(repeating: nil, count: runs.count)
        StopRequest.install()

        while !active.isEmpty && states[active[0]].step < config.steps {
            let step = states[active[0]].step  // 0-based index of the update being made, the same for every run
            let lrs = active.map { runs[$0].config.schedule.learningRate(at: step) }
            var losses = Array(repeating: 0.0, count: active.count)
            for micro in 0 ..< config.gradientAccumulation {
                let (inputs, targets) = try batch(active.map { try runs[$0].data.trainingBatch(step: step, micro: micro) }, device: device)
                let l = try model.losses(inputs: inputs, targets: targets, training: true)  // [A]
                try (config.gradientAccumulation == 1 ? l.sum() : l.sum() / Double(config.gradientAccumulation)).backward()
                for (i, value) in try l.detach().toArray(Float.self).enumerated() { losses[i] += Double(value) / Double(config.gradientAccumulation) }
            }

            // Runs that diverged at this step end here, as Trainer ends them: files written, no update.
            var diverged: [Int] = []  // positions in `active`
            for (i, r) in active.enumerated() {
                if states[r].initialLoss == nil { states[r].initialLoss = losses[i] }
                guard !losses[i].isFinite || losses[i] > states[r].initialLoss! * runs[r].config.divergenceFactor else { continue }
                diverged.append(i)
                try withNoGrad { for p in model.host.parameters { try p.value.grad?.narrow(0, start: i, length: 1).zero_() } }
                states[r].divergedAt = step + 1
                states[r].step += 1
                status[r] = .diverged
                try metrics[r].append(["step": step + 1, "loss": losses[i].isFinite ? losses[i] : -1, "diverged": true])
                try save(r, position: i)
                summaries[r] = try finish(r)
            }

            let gradNorms = config.clipNorm > 0
                ? try clipGradientNormPerRun(model.host.parameters, runs: active.count, maxNorm: config.clipNorm)
                : Array(repeating: 0, count: active.count)
            try optimizer.update(learningRates: lrs.enumerated().map { diverged.contains($0.offset) ? 0 : $0.element })
            for p in model.host.parameters { try p.value.zeroGrad() }

            for (i, r) in active.enumerated() where !diverged.contains(i) {
                states[r].step += 1
                states[r].tokens = try checkedTokens(states[r].tokens, plus: config.tokensPerStep)
                states[r].recentLosses.append(losses[i])
                if states[r].recentLosses.count > config.lossWindow { states[r].recentLosses.removeFirst() }
                states[r].elapsed = elapsedBefore[r] + Date().timeIntervalSince(started)
                try metrics[r].append(["step": states[r].step, "loss": losses[i], "lr": lrs[i], "grad_norm": gradNorms[i],
                                       "tokens": states[r].tokens, "tokens_per_s": tokensPerSecond(r), "elapsed": states[r].elapsed])
            }
            if !diverged.isEmpty {
                let kept = active.indices.filter { !diverged.contains($0) }
                try model.keep(kept)
                try optimizer.keep(kept)
                active = kept.map { active[$0] }
                if active.isEmpty { break }
            }

            let done = states[active[0]].step
            let recording = config.recordSteps.contains(done) || done == config.steps
            if recording || config.evalSteps.contains(done) {
                let validation = try evaluate(model, active: active, device: device)
                for (i, r) in active.enumerated() {
                    let point = validation[i].point(step: done, tokens: states[r].tokens)
                    states[r].evaluations = (states[r].evaluations ?? []) + [point]
                    try metrics[r].append(point.metricsLine)
                    if recording {
                        let window = states[r].recentLosses.reduce(0, +) / Double(states[r].recentLosses.count)
                        states[r].recorded.append(RecordedLoss(step: done, trainLoss: window, validationLoss: point.loss))
                    }
                }
            }
            for r in active {
                progress(r, TrainingProgress(step: done, totalSteps: config.steps, loss: states[r].recentLosses.last ?? .nan,
                                             learningRate: runs[r].config.schedule.learningRate(at: step),
                                             tokensPerSecond: tokensPerSecond(r), elapsed: states[r].elapsed))
            }

            if StopRequest.isRequested {
                for r in active { status[r] = .interrupted }
                break
            }
            if config.checkpointEvery > 0, done % config.checkpointEvery == 0, done < config.steps {
                for (i, r) in active.enumerated() { try save(r, position: i) }
            }
        }
        for (i, r) in active.enumerated() {
            try save(r, position: i)
            summaries[r] = try finish(r)
        }
        for r in runs.indices where summaries[r] == nil { summaries[r] = try finish(r) }  // diverged before this call
        return summaries.map { $0! }
    }

    /// The runs' batches as one: inputs and targets [R·B, T], run r's at rows r·B ..< (r+1)·B, on `device`.
    func batch(_ batches: [Batch], device: Device) throws -> (inputs: Tensor, targets: Tensor) {
        (try Tensor.cat(batches.map(\.inputs)).to(device: device), try Tensor.cat(batches.map(\.targets)).to(device: device))
    }

    /// Each active run's per-token losses on the fixed validation set, as ``Trainer/evaluate()`` measures them:
    /// the same windows for every run (the set depends on no seed), in batches of the same size.
    func evaluate(_ model: StackedDecoder, active: [Int], device: Device) throws -> [ValidationMeasurement] {
        let data = runs[active[0]].data
        let asked = config.validationWindows(windowTokens: data.validationWindowTokens)
        var measurements = Array(repeating: ValidationMeasurement(), count: active.count)
        try withNoGrad {
            for windows in validationBatchWindows(of: data, asked: asked, batchSize: config.batchSize) {
                let one = try data.validationBatch(windows: windows)
                let (b, t) = (one.targets.shape[0], one.targets.shape[1])
                let (inputs, targets) = try batch(Array(repeating: one, count: active.count), device: device)
                let logits = try model.logits(inputs, training: false)  // [R, B·T, V]
                let losses = try crossEntropy(logits.reshape([-1, logits.shape[2]]), targets.reshape([-1]), reduction: .none,
                                              ignoreIndex: Batch.ignoreIndex).reshape([active.count, b, t])  // [R, B, T]
                let groups = data.validationGroups(windows)
                for i in active.indices {
                    try measurements[i].add(one, losses: losses.narrow(0, start: i, length: 1).reshape([b, t]), groups: groups)
                }
            }
        }
        return measurements
    }
}

extension TrainingConfig {
    /// The config with what may differ inside a stack set to one value: the μP hyperparameters and the
    /// seeds. Runs whose stacking shapes are equal can train as one stack.
    var stackingShape: TrainingConfig {
        var c = self
        c.model.hyper = MuHyperParameters()
        c.seed = 0
        c.dataSeed = 0
        return c
    }
}
