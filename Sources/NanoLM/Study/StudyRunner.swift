import Foundation
import ScalingLaws

/// A run the study needs: one design at one width with one set of μTransferable hyperparameters.
struct StudyRun {
    var id: String
    var study: String
    var design: String
    var phase: String       // grid, proxy, target
    var width: Int
    var hyper: MuHyperParameters
    var parameters: Int     // μScaling's C (embeddings included; docs/DESIGN.md)
    var flops: Double       // counted training FLOPs of the whole run
    var steps: Int
    var directory: String
    var config: TrainingConfig
}

/// How the study trains its runs.
public enum RunExecutor: Sendable {
    /// One after another in this process.
    case inProcess
    /// Up to `jobs` `nanolm train` processes at once, threads split between them.
    case processes(jobs: Int, executable: String)
    /// A Slurm job array per phase (`sbatch`); `dryRun` prints the script instead of submitting.
    case slurm(executable: String, dryRun: Bool, options: [String])
}

/// One design's prediction at the target width.
public struct DesignPrediction: Codable, Sendable {
    public var design: String
    public var targetParameters: Int
    public var loss: Double
    public var lower: Double
    public var upper: Double
    public var actual: Double?
    /// How lower and upper were made (the delta method's; c fixed when at its bound), and a residual
    /// bootstrap's interval beside it (nil when unavailable; `bootstrapNote` says why). Absent in old results.
    public var interval: String? = nil
    public var bootstrapLower: Double? = nil
    public var bootstrapUpper: Double? = nil
    public var bootstrapNote: String? = nil
}

/// What a study found, for the terminal, `--json` and the report.
public struct StudyResult: Codable, Sendable {
    public struct DesignOutcome: Codable, Sendable {
        public var design: String
        public var best: MuHyperParameters
        public var basin: [MuHyperParameters]
        /// nil when the proxies' losses admit no decreasing power law (``fitError`` says why).
        public var fit: MuScalingFit?
        public var fitError: String?
        public var backtest: [BacktestPoint]
        /// nil without a fit; `actual` may still be known from the target run (``targetLoss``).
        public var prediction: DesignPrediction?
        public var targetParameters: Int
        public var targetLoss: Double?
        /// (predicted − actual) / actual, when the target was trained.
        public var relativeError: Double?
        /// Downstream error of the proxies and the target on the built-in tasks (`options.evaluate`).
        public var downstream: [DownstreamScore]?
    }
    /// One run's average multiple-choice error (1 − acc_token) next to its held-out loss.
    public struct DownstreamScore: Codable, Sendable {
        public var phase: String
        public var width: Int
        public var parameters: Int
        public var validationLoss: Double?
        public var error: Double
        public var standardError: Double
    }
    public var study: String
    public var targetWidth: Int
    public var outcomes: [DesignOutcome]
    /// Best design first (lowest predicted loss); whether its interval separates from the runner-up's.
    public var ranking: [String]
    public var intervalsSeparate: Bool?
    /// Eq. (1): FLOPs of everything trained but the target, over one target run; and the same by counted FLOPs.
    public var costRatioEquation1: Double
    public var costRatioCounted: Double
    public var runs: [StoredRun]
}

/// Runs Algorithm 1 of the paper for every design of a study: grid search at the base width, μTransfer,
/// proxies, fit, prediction, comparison, cost, and (if asked) the target for validation. Idempotent: runs
/// that finished are read back from their directories; interrupted ones resume from their checkpoints.
public final class StudyRunner {
    public let spec: StudySpec
    public let directory: URL
    public let store: StudyStore
    let vocabularySize: Int
    let log: (String) -> Void

    public init(spec: StudySpec, file: String, directory: URL, log: @escaping (String) -> Void = { print($0) }) throws {
        self.spec = spec
        self.directory = directory
        self.log = log
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try StudyStore(path: directory.appendingPathComponent("study.sqlite").path)
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

    // MARK: planning

    func trainingConfig(_ design: StudySpec.Design, width: Int, hyper: MuHyperParameters) -> TrainingConfig {
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
        config.seed = spec.seed ?? 0
        config.dataSeed = spec.dataSeed ?? 0
        config.evalSteps = [spec.budget.steps]
        return config
    }

    func plan(_ design: StudySpec.Design, width: Int, hyper: MuHyperParameters, phase: String) throws -> StudyRun {
        let config = trainingConfig(design, width: width, hyper: hyper)
        try config.validate()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let id = fnv1a(try encoder.encode(config))
        let name = String(format: "w%d-lr%g-std%g-tau%g", width, hyper.learningRate, hyper.initStd, hyper.outputMultiplier)
        let dir = directory.appendingPathComponent("runs/\(design.name)/\(name)").path
        let counts = try config.model.parameterCounts()
        let flops = try config.model.trainingFLOPsPerToken() * Double(config.tokensPerStep * config.steps)
        let run = StudyRun(id: id, study: spec.name, design: design.name, phase: phase, width: width, hyper: hyper,
                           parameters: counts.scaling, flops: flops, steps: config.steps, directory: dir, config: config)
        try store.plan(run)
        return run
    }

    // MARK: running

    /// Trains every run that has not finished; returns when all have (or throws if interrupted).
    func execute(_ runs: [StudyRun], executor: RunExecutor, phase: String) throws {
        var pending: [StudyRun] = []
        var seen = Set<String>()
        for run in runs where seen.insert(run.id).inserted {
            if let summary = Self.finishedSummary(run.directory) { try store.record(run.id, summary: summary) } else { pending.append(run) }
        }
        let done = seen.count - pending.count
        log("[\(phase)] \(seen.count) runs: \(done) already finished, \(pending.count) to train")
        guard !pending.isEmpty else { return }
        for run in pending {
            try FileManager.default.createDirectory(atPath: run.directory, withIntermediateDirectories: true)
            let url = URL(fileURLWithPath: run.directory + "/config.json")
            if !FileManager.default.fileExists(atPath: url.path) { try JSON.write(run.config, to: url) }
        }
        switch executor {
        case .inProcess:
            for (i, run) in pending.enumerated() {
                try store.setStatus(run.id, "running")
                log("[\(phase)] \(i + 1)/\(pending.count) \(run.design) width \(run.width) lr \(run.hyper.learningRate) → \(run.directory)")
                do {
                    let summary = try trainInProcess(run)
                    if summary.status == .interrupted {
                        try store.setStatus(run.id, "pending", message: "interrupted")
                        throw StudyError.failed("interrupted: rerun `nanolm study run` to resume from the checkpoints")
                    }
                    try store.record(run.id, summary: summary)
                    log("[\(phase)]   \(describe(summary))")
                } catch let error as StudyError { throw error } catch {
                    try store.setStatus(run.id, "failed", message: "\(error)")
                    log("[\(phase)]   failed: \(error)")
                }
            }
        case let .processes(jobs, executable):
            try trainInProcesses(pending, jobs: jobs, executable: executable, phase: phase)
        case let .slurm(executable, dryRun, options):
            try trainOnSlurm(pending, executable: executable, dryRun: dryRun, options: options, phase: phase)
        }
        let statuses = Dictionary(uniqueKeysWithValues: try store.runs(study: spec.name).map { ($0.id, $0.status) })
        for run in pending where Self.finishedSummary(run.directory) == nil {
            let status = statuses[run.id]
            if status == "running" || status == "pending" { try store.setStatus(run.id, "failed", message: "no summary.json after training") }
        }
    }

    static func finishedSummary(_ directory: String) -> RunSummary? {
        guard let data = FileManager.default.contents(atPath: directory + "/summary.json"),
              let summary = try? JSONDecoder().decode(RunSummary.self, from: data),
              summary.status != .interrupted else { return nil }
        return summary
    }

    func describe(_ s: RunSummary) -> String {
        switch s.status {
        case .diverged: return "diverged at step \(s.divergedAtStep ?? 0)"
        default: return String(format: "loss %.4f, %.0f tok/s, %.0f s", s.recorded.last?.trainLoss ?? .nan, s.tokensPerSecond, s.elapsed)
        }
    }

    func trainInProcess(_ run: StudyRun) throws -> RunSummary {
        var config = run.config
        config.device = spec.device
        let data = try openTrainingData(spec.data, config: config)
        let model = try makeModel(config.model, seed: config.seed)
        let trainer = try Trainer(config: config, model: model, data: data, directory: URL(fileURLWithPath: run.directory))
        return try trainer.run()
    }

    /// The child's command line; `slot` (0 ..< jobs, free while it runs) picks its GPU for `cuda` and
    /// `auto`, so N jobs on N GPUs train one per GPU.
    func trainArguments(_ run: StudyRun, threads: Int, slot: Int = 0) throws -> [String] {
        ["train", "--config", run.directory + "/config.json", "--data", spec.data, "--out", run.directory,
         "--threads", "\(threads)", "--device", "\(try (spec.device ?? .auto).resolve(slot: slot))", "--json"]
    }

    func trainInProcesses(_ pending: [StudyRun], jobs: Int, executable: String, phase: String) throws {
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / jobs)
        var queue = pending[...]
        var running: [(StudyRun, Process, slot: Int)] = []
        var started = 0
        while !queue.isEmpty || !running.isEmpty {
            while running.count < jobs, let run = queue.popFirst() {
                let slot = (0 ..< jobs).first { s in !running.contains { $0.slot == s } } ?? 0
                let p = Process()
                p.executableURL = URL(fileURLWithPath: executable)
                p.arguments = try trainArguments(run, threads: threads, slot: slot)
                p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
                let logURL = URL(fileURLWithPath: run.directory + "/train.log")
                _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
                p.standardError = try FileHandle(forWritingTo: logURL)
                try p.run()
                try store.setStatus(run.id, "running")
                started += 1
                log("[\(phase)] \(started)/\(pending.count) \(run.design) width \(run.width) lr \(run.hyper.learningRate) (pid \(p.processIdentifier))")
                running.append((run, p, slot))
            }
            Thread.sleep(forTimeInterval: 0.2)
            for (run, p, _) in running where !p.isRunning {
                if let summary = Self.finishedSummary(run.directory) {
                    try store.record(run.id, summary: summary)
                    log("[\(phase)]   \(run.design) width \(run.width) lr \(run.hyper.learningRate): \(describe(summary))")
                } else if p.terminationStatus == 130 || p.terminationReason == .uncaughtSignal {
                    try store.setStatus(run.id, "pending", message: "interrupted")
                } else {
                    try store.setStatus(run.id, "failed", message: "exit \(p.terminationStatus); see \(run.directory)/train.log")
                    log("[\(phase)]   failed (exit \(p.terminationStatus)): see \(run.directory)/train.log")
                }
            }
            running.removeAll { !$0.1.isRunning }
            if StudyInterrupt.requested {
                for (_, p, _) in running { p.interrupt() }
                for (_, p, _) in running { p.waitUntilExit() }
                throw StudyError.failed("interrupted: rerun `nanolm study run` to resume from the checkpoints")
            }
        }
    }

    // MARK: Algorithm 1

    public func run(executor: RunExecutor = .inProcess) throws -> StudyResult {
        StudyInterrupt.install()
        let base = spec.baseWidth
        log("== study \(spec.name): \(spec.designs.count) design(s), base width \(base), proxies \(spec.proxyWidths), target \(spec.targetWidth)")

        // (1) Grid search at the base width, per design.
        log("== (1) grid search at width \(base): \(spec.gridPoints.count) points per design")
        var gridRuns: [String: [StudyRun]] = [:]
        var checkRuns: [StudyRun] = []
        let checkWidths = spec.options?.transferCheckWidths ?? []
        for d in spec.designs {
            gridRuns[d.name] = try spec.gridPoints.map { try plan(d, width: base, hyper: $0, phase: "grid") }
            checkRuns += try checkWidths.flatMap { w in try spec.gridPoints.map { try plan(d, width: w, hyper: $0, phase: "grid") } }
        }
        if !checkWidths.isEmpty { log("   and at widths \(checkWidths) to check that the basin transfers (not used for the choice)") }
        try execute(spec.designs.flatMap { gridRuns[$0.name]! } + checkRuns, executor: executor, phase: "grid")
        var stored = Dictionary(uniqueKeysWithValues: try store.runs(study: spec.name).map { ($0.id, $0) })
        var chosen: [String: (best: MuHyperParameters, basin: [MuHyperParameters])] = [:]
        for d in spec.designs {
            let points = gridRuns[d.name]!.compactMap { stored[$0.id] }
            let finished = points.filter { $0.status == "done" && ($0.loss?.isFinite ?? false) }
            guard let best = finished.min(by: { $0.loss! < $1.loss! }) else {
                throw StudyError.failed("design \(d.name): every grid point diverged or failed at width \(base) (\(points.map(\.status))): lower grid.learningRates")
            }
            let basin = finished.filter { $0.loss! <= best.loss! * (1 + spec.basinTolerance) }.map(\.hyper)
            chosen[d.name] = (best.hyper, basin)
            for p in points {
                let mark = p.id == best.id ? "best" : basin.contains(p.hyper) ? "basin" : ""
                let loss = p.loss.map { String(format: "%.4f", $0) } ?? p.status
                log(String(format: "   %@ lr %-8g std %-6g tau %-4g  %@  %@", d.name, p.hyper.learningRate, p.hyper.initStd,
                           p.hyper.outputMultiplier, loss, mark))
            }
            for w in checkWidths {
                let runs = checkRuns.filter { $0.design == d.name && $0.width == w }.compactMap { stored[$0.id] }
                let ok = runs.filter { $0.status == "done" && $0.loss != nil }
                if let b = ok.min(by: { $0.loss! < $1.loss! }) {
                    let same = b.hyper == best.hyper
                    log(String(format: "   %@ at width %d: best lr %g (loss %.4f)%@", d.name, w, b.hyper.learningRate, b.loss!,
                               same ? " — the same point: the basin transfers" : " — a different point than at the base width"))
                }
            }
        }

        // Each design's target run, planned once: its size is what the fit predicts, its FLOPs what the cost compares.
        var targets: [String: StudyRun] = [:]
        for d in spec.designs { targets[d.name] = try plan(d, width: spec.targetWidth, hyper: chosen[d.name]!.best, phase: "target") }

        // (2) μTransfer: the same (l, σ, τ) at every width; Table 2 scales them per tensor.
        log("== (2) μTransfer from width \(base) (Table 2: hidden lr l/r, hidden init σ²/r, output τ/r, r = width/\(base))")
        for d in spec.designs {
            let h = chosen[d.name]!.best
            log("   \(d.name): l = \(h.learningRate), σ = \(h.initStd), τ = \(h.outputMultiplier)"
                + (spec.averagesBasin ? "; averaging over \(chosen[d.name]!.basin.count) basin points" : ""))
            for w in spec.proxyWidths + [spec.targetWidth] {
                let r = Double(w) / Double(base)
                log(String(format: "     width %5d  r %-6g hidden lr %-10.4g output mult %-8.4g", w, r, h.learningRate / r, h.outputMultiplier / r))
            }
        }

        // (3) Proxies.
        log("== (3) proxies at widths \(spec.proxyWidths)")
        var proxyRuns: [String: [StudyRun]] = [:]
        for d in spec.designs {
            let hypers = spec.averagesBasin ? chosen[d.name]!.basin : [chosen[d.name]!.best]
            proxyRuns[d.name] = try spec.proxyWidths.flatMap { w in try hypers.map { try plan(d, width: w, hyper: $0, phase: "proxy") } }
        }
        try execute(spec.designs.flatMap { proxyRuns[$0.name]! }, executor: executor, phase: "proxy")
        stored = Dictionary(uniqueKeysWithValues: try store.runs(study: spec.name).map { ($0.id, $0) })

        // (4) Fit and (5) predict, per design.
        log("== (4) fit L = a·C^b + c per design, (5) predict the target width \(spec.targetWidth)")
        var outcomes: [StudyResult.DesignOutcome] = []
        for d in spec.designs {
            var sizes: [Double] = [], losses: [Double] = []
            var skipped: [String] = []
            for w in spec.proxyWidths {
                let runs = proxyRuns[d.name]!.filter { $0.width == w }.compactMap { stored[$0.id] }
                let ok = runs.filter { $0.status == "done" && $0.loss != nil }
                if ok.count < runs.count { skipped.append("width \(w): \(runs.filter { $0.status != "done" }.map(\.status))") }
                guard let first = ok.first else { continue }
                sizes.append(Double(first.parameters))
                losses.append(ok.map { $0.loss! }.reduce(0, +) / Double(ok.count))
            }
            if !skipped.isEmpty { log("   \(d.name): left out of the fit: \(skipped.joined(separator: "; "))") }
            let target = targets[d.name]!
            let fit: MuScalingFit
            do { fit = try fitMuScaling(parameters: sizes, losses: losses) } catch {
                log("   \(d.name): no prediction: \(error.localizedDescription)")
                log("   \(d.name): proxy losses \(zip(sizes, losses).map { String(format: "%.3g params: %.4f", $0, $1) }.joined(separator: ", "))")
                outcomes.append(.init(design: d.name, best: chosen[d.name]!.best, basin: chosen[d.name]!.basin, fit: nil,
                                      fitError: error.localizedDescription, backtest: [], prediction: nil,
                                      targetParameters: target.parameters, targetLoss: nil, relativeError: nil))
                continue
            }
            let backtest = spec.backtestCount > 0 && sizes.count - spec.backtestCount >= 4
                ? (try? backtestMuScaling(parameters: sizes, losses: losses, holdOutLargest: spec.backtestCount)) ?? [] : []
            let p = fit.prediction(at: Double(target.parameters), level: spec.level)
            let (lower, upper) = (p.lower, p.upper)
            let prediction = DesignPrediction(design: d.name, targetParameters: target.parameters, loss: p.loss, lower: lower, upper: upper, actual: nil,
                                              interval: p.method, bootstrapLower: p.bootstrapLower, bootstrapUpper: p.bootstrapUpper, bootstrapNote: p.bootstrapNote)
            try store.saveFit(study: spec.name, design: d.name, fit: fit, backtest: backtest)
            try store.savePrediction(study: spec.name, prediction)
            let cText = fit.cAtBound ? "c at its bound 0: fitted as a·C^b" : String(format: "c = %.4f ± %.2g", fit.c, fit.standardDeviations[2])
            log(String(format: "   %@: a = %.4g ± %.2g (C in billions: %.4g ± %.2g), b = %.4f ± %.2g, %@, rmse %.2g, n %d",
                       d.name, fit.a, fit.standardDeviations[0], fit.a(perUnit: 1e9), fit.aStandardDeviation(perUnit: 1e9), fit.b,
                       fit.standardDeviations[1], cText, fit.rmse, fit.n))
            for p in backtest {
                log(String(format: "   %@: backtest at %.3g params: predicted %.4f, actual %.4f (%+.2f%%)", d.name, p.parameters,
                           p.predicted, p.actual, 100 * p.relativeError))
            }
            log(String(format: "   %@: predicted loss at width %d (%.3g params): %.4f [%.4f, %.4f] (%.0f%% interval, %@)", d.name,
                       spec.targetWidth, Double(target.parameters), prediction.loss, lower, upper, 100 * spec.level, p.method))
            if let bl = p.bootstrapLower, let bu = p.bootstrapUpper {
                log(String(format: "   %@: bootstrap interval [%.4f, %.4f] (%@)", d.name, bl, bu, p.bootstrapNote))
            } else { log("   \(d.name): \(p.bootstrapNote)") }
            if let caveat = p.caveat { log("   \(d.name): warning: \(caveat)") }
            outcomes.append(.init(design: d.name, best: chosen[d.name]!.best, basin: chosen[d.name]!.basin, fit: fit, fitError: nil,
                                  backtest: backtest, prediction: prediction, targetParameters: target.parameters, targetLoss: nil,
                                  relativeError: nil))
        }

        // (6) Comparison.
        let ranked = outcomes.filter { $0.prediction != nil }.sorted { $0.prediction!.loss < $1.prediction!.loss }
        var separate: Bool? = nil
        if ranked.count >= 2 {
            let (a, b) = (ranked[0].prediction!, ranked[1].prediction!)
            separate = a.upper < b.lower
            log("== (6) comparison at width \(spec.targetWidth): \(a.design) is predicted better than \(b.design) by "
                + String(format: "%.4f (%.2f%%); ", b.loss - a.loss, 100 * (b.loss - a.loss) / b.loss)
                + (separate! ? "the intervals separate" : "the intervals overlap: not a confident difference"))
        } else {
            log("== (6) comparison: \(ranked.count) design(s) with a prediction, nothing to compare")
        }

        // (7) Cost: everything trained for the prediction against one target run.
        // Eq. (1) per design with that design's depth (designs may differ in layers), summed over designs.
        stored = Dictionary(uniqueKeysWithValues: try store.runs(study: spec.name).map { ($0.id, $0) })
        var planCount = 0
        var plannedEq1 = 0.0, targetEq1 = 0.0, plannedFLOPs = 0.0, targetFLOPs = 0.0
        for d in spec.designs {
            func eq1(_ width: Int, _ steps: Int) -> Double {
                Cost.stepFLOPs(layers: d.layers, width: width, sequenceLength: spec.budget.sequenceLength, vocabulary: vocabularySize,
                               batchSize: spec.budget.batchSize) * Double(steps)
            }
            let ids = Set(gridRuns[d.name]!.map(\.id) + proxyRuns[d.name]!.map(\.id))
            for id in ids { if let r = stored[id] { planCount += 1; plannedEq1 += eq1(r.width, r.steps); plannedFLOPs += r.flops } }
            targetEq1 += eq1(spec.targetWidth, spec.budget.steps)
            targetFLOPs += targets[d.name]!.flops
        }
        let eq1 = plannedEq1 / targetEq1
        let counted = plannedFLOPs / targetFLOPs
        log(String(format: "== (7) cost: the study trained %d runs for %.3g FLOPs = %.3f× the target run(s) by Eq. (1), %.3f× by counted FLOPs",
                   planCount, plannedFLOPs, eq1, counted))

        // (8) The target itself, to check the prediction.
        if spec.trainsTarget {
            log("== (8) training the target width \(spec.targetWidth) to check the prediction")
            let targetRuns = spec.designs.map { targets[$0.name]! }
            try execute(targetRuns, executor: executor, phase: "target")
            stored = Dictionary(uniqueKeysWithValues: try store.runs(study: spec.name).map { ($0.id, $0) })
            for (i, t) in targetRuns.enumerated() {
                guard let actual = stored[t.id], actual.status == "done", let loss = actual.loss else {
                    log("   \(t.design): the target run did not finish (\(stored[t.id]?.status ?? "missing"))"); continue
                }
                outcomes[i].targetLoss = loss
                guard var prediction = outcomes[i].prediction else { log(String(format: "   %@: actual %.4f (no prediction)", t.design, loss)); continue }
                prediction.actual = loss
                outcomes[i].prediction = prediction
                outcomes[i].relativeError = (prediction.loss - loss) / loss
                try store.savePrediction(study: spec.name, prediction)
                log(String(format: "   %@: predicted %.4f, actual %.4f, error %+.2f%%", t.design, prediction.loss, loss,
                           100 * outcomes[i].relativeError!))
            }
        }
        if let items = spec.options?.evaluate { try evaluate(&outcomes, itemsPerTask: items) }
        return StudyResult(study: spec.name, targetWidth: spec.targetWidth, outcomes: outcomes, ranking: ranked.map(\.design),
                           intervalsSeparate: separate, costRatioEquation1: eq1, costRatioCounted: counted,
                           runs: try store.runs(study: spec.name))
    }
}

extension StudyRunner {
    /// (9) Scores the finished proxies and targets of every causal design on the data's built-in tasks;
    /// each score is cached in its run's eval.json, so a rerun scores nothing again.
    func evaluate(_ outcomes: inout [StudyResult.DesignOutcome], itemsPerTask: Int) throws {
        let scorer = try RunScorer(data: URL(fileURLWithPath: spec.data), itemsPerTask: itemsPerTask, seed: spec.dataSeed ?? 0)
        log("== (9) downstream: \(scorer.tasks.count) built-in tasks, \(itemsPerTask) items each (chance error \(String(format: "%.3f", scorer.chanceError)))")
        let runs = try store.runs(study: spec.name)
        for i in outcomes.indices {
            let design = spec.designs.first { $0.name == outcomes[i].design }!
            guard design.architecture == .gpt || design.architecture == .llama else {
                log("   \(design.name): \(design.architecture.rawValue) is not a causal model; multiple-choice scoring skipped"); continue
            }
            var scores: [StudyResult.DownstreamScore] = []
            // The base-width proxy is the grid run at the chosen point (it is trained once).
            let chosen = runs.filter { $0.design == design.name && $0.status == "done" && ($0.phase == "proxy" || $0.phase == "target"
                || ($0.phase == "grid" && $0.width == spec.baseWidth && $0.hyper == outcomes[i].best)) }
            for run in chosen {
                let (error, standardError, cached) = try scorer.score(runDirectory: URL(fileURLWithPath: run.directory))
                scores.append(.init(phase: run.phase == "grid" ? "proxy" : run.phase, width: run.width, parameters: run.parameters, validationLoss: run.validationLoss,
                                    error: error, standardError: standardError))
                log(String(format: "   %@ %@ width %d: held-out loss %@, error %.4f ± %.4f%@", design.name, run.phase, run.width,
                           run.validationLoss.map { String(format: "%.4f", $0) } ?? "–", error, standardError, cached ? " (cached)" : ""))
            }
            outcomes[i].downstream = scores.sorted { $0.width < $1.width }
        }
    }
}

/// SIGINT / SIGTERM while a study trains in child processes: pass it on, let them checkpoint, stop.
enum StudyInterrupt {
    nonisolated(unsafe) static var requested = false
    static func install() {
        signal(SIGINT) { _ in StudyInterrupt.requested = true; StopRequest.isRequested = true }
        signal(SIGTERM) { _ in StudyInterrupt.requested = true; StopRequest.isRequested = true }
    }
}

/// FNV-1a, 64 bits, as 16 hex digits: a run's id from its config.
func fnv1a(_ data: Data) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in data { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return String(format: "%016llx", h)
}
