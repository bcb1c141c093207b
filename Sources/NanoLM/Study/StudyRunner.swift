import Foundation
import ModelSpec
import ScalingLaws

/// Runs Algorithm 1 of the paper for every design of a study: grid search at the base width, μTransfer,
/// proxies, fit, prediction, comparison, cost, and (if asked) the target for validation. Each decision is a
/// function in StudySteps.swift; training is the executor's; narration is the reporter's. Idempotent: runs
/// that finished are read back from their directories; interrupted ones resume from their checkpoints.
public final class StudyRunner {
    public let spec: StudySpec
    public let directory: URL
    public let store: StudyStore
    let vocabularySize: Int
    let reporter: any StudyReporter

    public init(spec: StudySpec, file: String, directory: URL, reporter: any StudyReporter) throws {
        self.spec = spec
        self.directory = directory
        self.reporter = reporter
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try StudyStore(path: directory.appendingPathComponent("study.sqlite").path)
        store.fitLoss = spec.fitLoss
        try store.saveStudy(spec, file: file)
        if spec.data == "synthetic" {
            vocabularySize = spec.vocabularySize ?? 512
        } else {
            // The data once, checksums included: a truncated or damaged shard is an error that names it before
            // anything trains, not a grid of failed runs.
            let index = try ShardedData(directory: URL(fileURLWithPath: spec.data), verifyChecksums: true).index
            vocabularySize = (index.tokenizer.vocabularySize + 63) / 64 * 64
        }
    }

    /// Narration as lines of text through `log`.
    public convenience init(spec: StudySpec, file: String, directory: URL, log: @escaping (String) -> Void = { print($0) }) throws {
        try self.init(spec: spec, file: file, directory: directory, reporter: TerminalStudyReporter(log: log))
    }

    // MARK: planning

    /// Run `seedIndex` (k) of a design at a width: seed + k and dataSeed + k, evaluated on the fixed validation
    /// set at ``StudySpec/evaluationSteps``.
    func trainingConfig(_ design: StudySpec.Design, width: Int, hyper: MuHyperParameters, seedIndex: Int = 0) -> TrainingConfig {
        var model = ModelConfig(architecture: design.architecture, layers: design.layers, width: width,
                                vocabularySize: vocabularySize, sequenceLength: spec.budget.sequenceLength,
                                parametrization: .muP(baseWidth: spec.baseWidth), hyper: hyper)
        if let v = design.ffnRatio { model.ffnRatio = v }
        if let v = design.headDim { model.headDim = v }
        if let v = design.tiedEmbeddings { model.tiedEmbeddings = v }
        if let v = design.dropout { model.dropout = v }
        var config = TrainingConfig(model: model, steps: spec.budget.steps, batchSize: spec.budget.batchSize)
        config.warmupSteps = spec.budget.warmupSteps ?? 0
        if let d = spec.budget.decay { config.decay = d }
        config.lossWindow = min(spec.budget.lossWindow ?? 100, spec.budget.steps)
        config.checkpointEvery = spec.budget.checkpointEvery ?? max(1, spec.budget.steps / 4)
        if let wd = spec.budget.weightDecay { config.optimizer.weightDecay = wd }
        config.autocast = spec.budget.autocast ?? false
        config.seed = (spec.seed ?? 0) &+ UInt64(seedIndex)
        config.dataSeed = (spec.dataSeed ?? 0) &+ UInt64(seedIndex)
        config.evalSteps = spec.evaluationSteps
        config.validationTokens = spec.budget.validationTokens ?? StudySpec.defaultValidationTokens
        return config
    }

    func plan(_ design: StudySpec.Design, width: Int, hyper: MuHyperParameters, phase: RunPhase, seedIndex: Int = 0) throws -> StudyRun {
        let config = trainingConfig(design, width: width, hyper: hyper, seedIndex: seedIndex)
        try config.validate()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let id = fnv1a(try encoder.encode(config))
        let name = String(format: "w%d-lr%g-std%g-tau%g", width, hyper.learningRate, hyper.initStd, hyper.outputMultiplier)
            + (seedIndex > 0 ? "-seed\(seedIndex)" : "")
        let dir = directory.appendingPathComponent("runs/\(design.name)/\(name)").path
        let counts = try config.model.parameterCounts()
        let flops = try config.model.trainingFLOPsPerToken() * Double(config.tokensPerStep * config.steps)
        let run = StudyRun(id: id, study: spec.name, design: design.name, phase: phase, width: width, hyper: hyper,
                           parameters: counts.scaling, flops: flops, steps: config.steps, directory: dir, config: config, seedIndex: seedIndex)
        try store.plan(run)
        return run
    }

    /// The database's runs by id.
    func storedRuns() throws -> [String: StoredRun] {
        Dictionary(uniqueKeysWithValues: try store.runs(study: spec.name).map { ($0.id, $0) })
    }

    // MARK: running

    /// Trains every run that has not finished; returns when all have ended (or throws ``StudyStop/interrupted``).
    func execute(_ runs: [StudyRun], executor: any RunExecutor, phase: RunPhase) throws {
        var pending: [StudyRun] = []
        var seen = Set<String>()
        for run in runs where seen.insert(run.id).inserted {
            try waitForOtherOwner(run, phase: phase)
            if let summary = run.files.finishedSummary { try store.record(run.id, summary: summary) } else { pending.append(run) }
        }
        reporter.report(.runsPlanned(phase: phase, total: seen.count, finished: seen.count - pending.count, toTrain: pending.count))
        guard !pending.isEmpty else { return }
        // The device is where a run trains, not what it is: not in the config its id hashes (a study started on
        // one device continues on another).
        let jobs = pending.map { run in
            var config = run.config
            config.device = spec.device
            return TrainingJob(label: run.label, directory: run.files, config: config, data: spec.data, flops: run.flops)
        }
        for job in jobs { try job.prepare() }
        let recorder = StudyRecorder(runs: pending, store: store, reporter: reporter)
        let rest = try trainStacked(jobs, phase: phase, events: recorder, executor: executor)  // same-shape runs together
        if !rest.isEmpty { try executor.train(rest.map { jobs[$0] }, batch: phase.rawValue, events: SubsetEvents(recorder, indices: rest)) }
        let statuses = try storedRuns().mapValues(\.status)
        for run in pending where run.files.finishedSummary == nil {
            if statuses[run.id] == .running || statuses[run.id] == .pending {
                try store.setStatus(run.id, .failed, message: "no summary.json after training")
            }
        }
    }

    /// A run still trained by a process that outlived an earlier `study run` (or a `nanolm train` by hand):
    /// wait for it to end, then use what it left, instead of training the run twice at once.
    func waitForOtherOwner(_ run: StudyRun, phase: RunPhase) throws {
        guard let pid = FileLock.holder(run.files.lockURL) else { return }
        reporter.report(.waitingForRun(phase: phase, label: run.label, pid: pid))
        while FileLock.holder(run.files.lockURL) != nil {
            if StopRequest.isRequested { throw StudyStop.interrupted }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    // MARK: Algorithm 1

    public func run(executor: any RunExecutor = InProcessExecutor()) throws -> StudyResult {
        StopRequest.install()
        // One `study run` per study directory at a time; the kernel frees the lock however this process ends.
        let lock = try FileLock.acquire(directory.appendingPathComponent("study.lock"), what: "study \(spec.name)")
        defer { withExtendedLifetime(lock) {} }
        let base = spec.baseWidth
        reporter.report(.started(study: spec.name, designs: spec.designs.count, baseWidth: base, proxyWidths: spec.proxyWidths,
                                 targetWidth: spec.targetWidth))

        // (1) Grid search at the base width, per design, and the transfer check at other widths.
        let checkWidths = spec.options?.transferCheckWidths ?? []
        reporter.report(.gridPhase(baseWidth: base, pointsPerDesign: spec.gridPoints.count, transferCheckWidths: checkWidths))
        var gridRuns: [String: [StudyRun]] = [:]
        var checkRuns: [StudyRun] = []
        for d in spec.designs {
            gridRuns[d.name] = try spec.gridPoints.map { try plan(d, width: base, hyper: $0, phase: .grid) }
            checkRuns += try checkWidths.flatMap { w in try spec.gridPoints.map { try plan(d, width: w, hyper: $0, phase: .grid) } }
        }
        try execute(spec.designs.flatMap { gridRuns[$0.name]! } + checkRuns, executor: executor, phase: .grid)
        var stored = try storedRuns()
        var chosen: [String: GridChoice] = [:]
        var transferChecks: [String: [TransferCheck]] = [:]
        for d in spec.designs {
            let choice = try chooseGridPoint(gridRuns[d.name]!.compactMap { stored[$0.id] }, tolerance: spec.basinTolerance,
                                             design: d.name, width: base)
            chosen[d.name] = choice
            reporter.report(.gridChosen(design: d.name, choice: choice))
            for w in checkWidths {
                let runs = checkRuns.filter { $0.design == d.name && $0.width == w }.compactMap { stored[$0.id] }
                guard let check = checkTransfer(runs, width: w, base: choice) else { continue }
                transferChecks[d.name, default: []].append(check)
                reporter.report(.transferChecked(design: d.name, check: check))
            }
        }

        // Each design's target runs (one per seed), planned once: the size is what the fit predicts, the first
        // seed's FLOPs what the cost compares (one target run).
        var targetSeeds: [String: [StudyRun]] = [:]
        for d in spec.designs {
            targetSeeds[d.name] = try (0 ..< spec.seedCount).map {
                try plan(d, width: spec.targetWidth, hyper: chosen[d.name]!.best.hyper, phase: .target, seedIndex: $0)
            }
        }
        let targets = targetSeeds.mapValues { $0[0] }

        // (2) μTransfer: the same (l, σ, τ) at every width; Table 2 scales them per tensor.
        reporter.report(.muTransferPhase(baseWidth: base))
        for d in spec.designs {
            let c = chosen[d.name]!
            reporter.report(.muTransferred(design: d.name, hyper: c.best.hyper, basinSize: spec.averagesBasin ? c.basin.count : nil,
                                           rows: muTransfer(c.best.hyper, base: base, widths: spec.proxyWidths + [spec.targetWidth])))
        }

        // (3) Proxies, and the targets beside them when the study trains them: a target needs only the grid's
        // choice, so it starts first (the longest runs) and the proxies fill the other cores, instead of
        // training alone after the fit (docs/DESIGN.md, "Parallelism"). The fit below reads the proxies alone.
        reporter.report(.proxyPhase(widths: spec.proxyWidths))
        var proxyRuns: [String: [StudyRun]] = [:]
        for d in spec.designs {
            let hypers = spec.averagesBasin ? chosen[d.name]!.basin : [chosen[d.name]!.best.hyper]
            proxyRuns[d.name] = try spec.proxyWidths.flatMap { w in try hypers.flatMap { h in
                try (0 ..< spec.seedCount).map { try plan(d, width: w, hyper: h, phase: .proxy, seedIndex: $0) }
            } }
        }
        let besideProxies = spec.trainsTarget ? spec.designs.flatMap { targetSeeds[$0.name]! } : []
        try execute(besideProxies + spec.designs.flatMap { proxyRuns[$0.name]! }.sorted { $0.flops > $1.flops },
                    executor: executor, phase: .proxy)
        stored = try storedRuns()

        // (4) Fit and (5) predict, per design.
        reporter.report(.fitPhase(targetWidth: spec.targetWidth))
        var outcomes: [StudyResult.DesignOutcome] = []
        for d in spec.designs {
            let points = proxyPoints(proxyRuns[d.name]!.compactMap { stored[$0.id] }, widths: spec.proxyWidths, seeds: spec.seedCount)
            if !points.skipped.isEmpty { reporter.report(.leftOutOfFit(design: d.name, skipped: points.skipped)) }
            let (choice, target) = (chosen[d.name]!, targets[d.name]!)
            var outcome = StudyResult.DesignOutcome(design: d.name, best: choice.best.hyper, basin: choice.basin, fit: nil, fitError: nil,
                                                    backtest: [], prediction: nil, targetParameters: target.parameters, targetLoss: nil,
                                                    relativeError: nil)
            outcome.gridEdges = choice.edges.isEmpty ? nil : choice.edges
            outcome.transferChecks = transferChecks[d.name]
            outcome.seedStandardDeviation = points.seedStandardDeviation
            let fit: DesignFit
            do { fit = try fitDesign(points, holdOut: spec.backtestCount) } catch {
                reporter.report(.noFit(design: d.name, error: error.localizedDescription, points: points))
                outcome.fitError = error.localizedDescription
                outcomes.append(try withCurves(outcome, runs: proxyRuns[d.name]!.compactMap { stored[$0.id] }, target: target,
                                               targetVariance: targetRunVariance(nil, points: points, targetRuns: spec.seedCount)))
                continue
            }
            let targetVariance = targetRunVariance(fit.fit, points: points, targetRuns: spec.seedCount)
            let (prediction, caveat) = predict(fit.fit, design: d.name, targetParameters: target.parameters, level: spec.level,
                                               targetVariance: targetVariance)
            try store.saveFit(study: spec.name, design: d.name, fit: fit.fit, backtest: fit.backtest)
            try store.savePrediction(study: spec.name, prediction)
            reporter.report(.fitted(design: d.name, fit: fit, prediction: prediction, caveat: caveat, targetWidth: spec.targetWidth, level: spec.level))
            (outcome.fit, outcome.backtest, outcome.backtestError, outcome.prediction) = (fit.fit, fit.backtest, fit.backtestError, prediction)
            outcomes.append(try withCurves(outcome, runs: proxyRuns[d.name]!.compactMap { stored[$0.id] }, target: target,
                                           targetVariance: targetVariance))
        }

        // (6) Comparison.
        let comparison = compare(outcomes.compactMap(\.prediction))
        reporter.report(.compared(comparison: comparison, targetWidth: spec.targetWidth))

        // (7) Cost: everything trained for the prediction against one target run.
        stored = try storedRuns()
        let cost = studyCost(spec.designs.map { d in
            var ids = Set<String>()
            let runs = (gridRuns[d.name]! + proxyRuns[d.name]!).filter { ids.insert($0.id).inserted }.compactMap { stored[$0.id] }
            return DesignCostInput(layers: d.layers, runs: runs.map { ($0.width, $0.steps, $0.flops) }, targetFLOPs: targets[d.name]!.flops)
        }, targetWidth: spec.targetWidth, steps: spec.budget.steps, sequenceLength: spec.budget.sequenceLength,
           vocabulary: vocabularySize, batchSize: spec.budget.batchSize)
        reporter.report(.costed(cost: cost))

        // (8) The target itself, to check the prediction (trained beside the proxies; here only when an earlier
        // `study run` stopped before it finished).
        if spec.trainsTarget {
            reporter.report(.targetPhase(targetWidth: spec.targetWidth))
            try execute(spec.designs.flatMap { targetSeeds[$0.name]! }, executor: executor, phase: .target)
            stored = try storedRuns()
            for (i, d) in spec.designs.enumerated() {
                // The target's loss: the mean over its seeds that finished (the first run's status when none did).
                let runs = targetSeeds[d.name]!.compactMap { stored[$0.id] }
                let losses = runs.compactMap { $0.status == .done ? $0.loss : nil }
                let actual = losses.isEmpty ? nil : losses.reduce(0, +) / Double(losses.count)
                reporter.report(.targetChecked(design: d.name, prediction: outcomes[i].prediction, actual: actual, status: runs.first?.status))
                guard let loss = actual else { continue }
                outcomes[i].targetLoss = loss
                outcomes[i].alternative?.prediction?.actual = loss
                if spec.seedCount > 1 { outcomes[i].targetSeedLosses = losses }
                guard var prediction = outcomes[i].prediction else { continue }
                prediction.actual = loss
                outcomes[i].prediction = prediction
                outcomes[i].relativeError = (prediction.loss - loss) / loss
                try store.savePrediction(study: spec.name, prediction)
            }
        }
        if let items = spec.options?.evaluate { try evaluate(&outcomes, itemsPerTask: items) }
        return StudyResult(study: spec.name, targetWidth: spec.targetWidth, outcomes: outcomes, ranking: comparison.ranking.map(\.design),
                           intervalsSeparate: comparison.intervalsSeparate, costRatioEquation1: cost.equation1, costRatioCounted: cost.counted,
                           runs: try store.runs(study: spec.name))
    }
}

extension StudyRunner {
    /// (9) Scores the finished proxies and targets of every causal design on the data's built-in tasks;
    /// each score is cached in its run's eval.json, so a rerun scores nothing again.
    func evaluate(_ outcomes: inout [StudyResult.DesignOutcome], itemsPerTask: Int) throws {
        var scorer = try RunScorer(data: URL(fileURLWithPath: spec.data), itemsPerTask: itemsPerTask, seed: spec.dataSeed ?? 0)
        scorer.device = try (spec.device ?? .auto).resolve(slot: 0)   // where the study trained
        reporter.report(.downstreamPhase(tasks: scorer.tasks.count, itemsPerTask: itemsPerTask, chanceError: scorer.chanceError))
        let runs = try store.runs(study: spec.name)
        for i in outcomes.indices {
            guard let design = spec.designs.first(where: { $0.name == outcomes[i].design }) else { continue }
            guard design.architecture == .gpt || design.architecture == .llama else {
                reporter.report(.downstreamSkipped(design: design.name, architecture: design.architecture)); continue
            }
            var scores: [StudyResult.DownstreamScore] = []
            // The base-width proxy is the grid run at the chosen point (it is trained once).
            let chosen = runs.filter { $0.design == design.name && $0.status == .done && ($0.phase == .proxy || $0.phase == .target
                || ($0.phase == .grid && $0.width == spec.baseWidth && $0.hyper == outcomes[i].best)) }
            for run in chosen {
                let (error, standardError, cached) = try scorer.score(runDirectory: URL(fileURLWithPath: run.directory))
                scores.append(.init(phase: run.phase == .grid ? .proxy : run.phase, width: run.width, parameters: run.parameters,
                                    validationLoss: run.validationLoss, error: error, standardError: standardError))
                reporter.report(.downstreamScored(design: design.name, phase: run.phase, width: run.width, validationLoss: run.validationLoss,
                                                  error: error, standardError: standardError, cached: cached))
            }
            outcomes[i].downstream = scores.sorted { $0.width < $1.width }
        }
    }
}

/// Records what an executor reports in the study database and tells the reporter, with the ETA of the runs
/// trained together (a phase; the proxies and the targets when both train at once). Each event names its
/// run's own phase.
final class StudyRecorder: RunEvents {
    let runs: [StudyRun]
    let store: StudyStore
    let reporter: any StudyReporter
    var startedCount = 0
    /// Fraction of each run's steps done (1 once it ended), for the phase's remaining time.
    var done: [Double]

    init(runs: [StudyRun], store: StudyStore, reporter: any StudyReporter) {
        self.runs = runs
        self.store = store
        self.reporter = reporter
        done = Array(repeating: 0, count: runs.count)
    }

    func started(_ index: Int, note: String?) throws {
        let run = runs[index]
        try store.setStatus(run.id, .running, message: note)
        reporter.report(.runStarted(phase: run.phase, index: startedCount, count: runs.count, label: run.label, directory: run.directory, note: note))
        startedCount += 1
    }

    func progress(_ index: Int, _ p: TrainingProgress) {
        done[index] = Double(p.step) / Double(max(p.totalSteps, 1))
        reporter.report(.runProgress(phase: runs[index].phase, label: runs[index].label, progress: p, phaseRemaining: phaseRemaining(index, p)))
    }

    /// The phase's remaining FLOPs at this run's seconds per FLOP, divided among the runs training now.
    func phaseRemaining(_ index: Int, _ p: TrainingProgress) -> TimeInterval? {
        let doneFLOPs = done[index] * runs[index].flops
        guard doneFLOPs > 0, p.elapsed > 0 else { return nil }
        let remaining = zip(runs, done).map { $0.flops * (1 - $1) }.reduce(0, +)
        let training = max(1, done.filter { $0 > 0 && $0 < 1 }.count)
        return remaining * p.elapsed / doneFLOPs / Double(training)
    }

    func ended(_ index: Int, _ outcome: RunOutcome) throws {
        let run = runs[index]
        done[index] = 1
        switch outcome {
        case let .finished(summary): try store.record(run.id, summary: summary)
        case .interrupted: try store.setStatus(run.id, .pending, message: "interrupted")
        case let .failed(message): try store.setStatus(run.id, .failed, message: message)
        }
        reporter.report(.runEnded(phase: run.phase, label: run.label, outcome: outcome))
    }
}

/// FNV-1a, 64 bits, as 16 hex digits: a run's id from its config.
func fnv1a(_ data: Data) -> String {
    var h = FNV1a()
    h.combine(bytes: data)
    return h.hex
}
