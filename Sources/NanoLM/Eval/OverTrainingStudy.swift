import Foundation
import ModelSpec
import ScalingLaws

/// One run of an over-training study and what it measured.
public struct OverTrainingRun: Codable, Sendable {
    public var width: Int
    /// M = D/N asked for; D is rounded to whole steps.
    public var multiplier: Double
    public var inFit: Bool
    /// N: parameters (embeddings included, as μScaling's C).
    public var parameters: Int
    /// D: training tokens (steps × tokens per step).
    public var tokens: Int
    public var steps: Int
    public var directory: String
    /// Held-out loss at the last step.
    public var loss: Double?
    /// 1 − average accuracy (acc_token, LLM Foundry's lowest perplexity) on the built-in tasks, and its standard error.
    public var error: Double?
    public var errorStandardError: Double?
    /// For held-out runs: L(C, M) and Err(L(C, M)) from the fits, and Err at the run's actual loss.
    public var predictedLoss: Double?
    public var predictedError: Double?
    public var predictedErrorAtActualLoss: Double?
    /// The same from Err(L) with ε fixed at the chance error (``AnchoredDownstreamFit``).
    public var predictedErrorAnchored: Double?
    public var predictedErrorAnchoredAtActualLoss: Double?
    public var status: RunStatus

    /// 6·N·D.
    public var compute: Double { 6 * Double(parameters) * Double(tokens) }
    public var lossRelativeError: Double? { zip2(predictedLoss, loss).map { ($0 - $1) / $1 } }
    public var errorRelativeError: Double? { zip2(predictedError, error).map { ($0 - $1) / $1 } }
    public var anchoredErrorRelativeError: Double? { zip2(predictedErrorAnchored, error).map { ($0 - $1) / $1 } }
}

/// Err(L) = ε − k·exp(−γ·L) with ε fixed at the error of guessing (1 − chance accuracy): a model that has
/// learnt nothing is at chance, as Gadre et al. read ε. Then ln(ε − Err) = ln k − γ·L is a straight line,
/// fitted by least squares; it stays stable when the fit runs barely leave chance, where the free
/// three-coefficient fit extrapolates wildly. Runs with Err ≥ ε carry no information about k, γ and are left out.
public struct AnchoredDownstreamFit: Codable, Sendable, Equatable {
    public var epsilon: Double
    public var k: Double
    public var gamma: Double
    /// Runs used (Err < ε).
    public var n: Int
    public func error(atLoss l: Double) -> Double { epsilon - k * exp(-gamma * l) }

    public init?(losses: [Double], errors: [Double], epsilon: Double) {
        let points = zip(losses, errors).filter { $0.1 < epsilon }.map { ($0.0, log(epsilon - $0.1)) }
        guard points.count >= 2 else { return nil }
        let n = Double(points.count)
        let mx = points.map(\.0).reduce(0, +) / n, my = points.map(\.1).reduce(0, +) / n
        let sxx = points.map { ($0.0 - mx) * ($0.0 - mx) }.reduce(0, +)
        guard sxx > 0 else { return nil }
        let slope = points.map { ($0.0 - mx) * ($0.1 - my) }.reduce(0, +) / sxx
        self.epsilon = epsilon
        gamma = -slope
        k = exp(my - slope * mx)
        self.n = points.count
    }
}

func zip2<A, B>(_ a: A?, _ b: B?) -> (A, B)? { if let a, let b { return (a, b) } else { return nil } }


public struct OverTrainingResult: Codable, Sendable {
    public var study: String
    public var runs: [OverTrainingRun]
    public var lossFit: OverTrainingFit?
    public var lossFitError: String?
    public var errorFit: DownstreamFit?
    public var errorFitError: String?
    /// Err(L) with ε at the chance error of the tasks.
    public var anchoredErrorFit: AnchoredDownstreamFit?
    /// Mean |relative error| over held-out runs.
    public var meanLossRelativeError: Double?
    public var meanErrorRelativeError: Double?
    public var meanAnchoredErrorRelativeError: Double?
    /// Warnings about the fits (a degenerate L(C, M), an Err(L) that leaves [0, 1]).
    public var notes: [String] = []
}

/// Trains the grid (resuming: a run with a summary.json is not trained again), scores every run on the
/// built-in tasks of the study's data, fits L(C, M) and Err(L) on the fit runs, and predicts the others.
public final class OverTrainingStudy {
    public let spec: OverTrainingSpec
    public let directory: URL
    let log: (String) -> Void

    public init(spec: OverTrainingSpec, directory: URL, log: @escaping (String) -> Void = { print($0) }) {
        self.spec = spec
        self.directory = directory
        self.log = log
    }

    func config(width: Int, multiplier: Double, vocabularySize: Int) throws -> TrainingConfig {
        var model = ModelConfig(architecture: spec.architecture, layers: spec.layers, width: width, vocabularySize: vocabularySize,
                                sequenceLength: spec.sequenceLength, parametrization: .muP(baseWidth: spec.baseWidth),
                                hyper: spec.hyper ?? MuHyperParameters())
        if let h = spec.headDim { model.headDim = h }
        if let t = spec.tiedEmbeddings { model.tiedEmbeddings = t }
        var config = TrainingConfig(model: model, steps: 1, batchSize: spec.batchSize)
        let n = Double(try model.parameterCounts().scaling)
        let steps = (multiplier * n / Double(config.tokensPerStep)).rounded()   // validated sizes: finite
        guard steps <= Double(Limits.steps) else {
            throw StudyError.failed("width \(width) at M = \(multiplier) needs \(steps) steps, above the limit of \(Limits.steps): lower the multiplier")
        }
        config.steps = max(1, Int(steps))
        config.warmupSteps = Int(Double(config.steps) * (spec.warmupFraction ?? 0.05))
        config.lossWindow = min(100, config.steps)
        config.checkpointEvery = max(1, config.steps / 4)
        config.seed = spec.seed ?? 0
        config.evalSteps = [config.steps]
        try config.validate()   // also bounds steps × tokens per step
        return config
    }

    /// Trains the runs that have not finished with `executor`, scores every completed one, fits and predicts.
    public func run(executor: any RunExecutor = InProcessExecutor()) throws -> OverTrainingResult {
        let data = URL(fileURLWithPath: spec.data)
        let scorer = try RunScorer(data: data, itemsPerTask: spec.evalItems ?? 200, seed: spec.seed ?? 0)
        let vocabularySize = (scorer.vocabularySize + 63) / 64 * 64
        let planned = spec.plannedRuns()
        log("== over-training study \(spec.name): \(planned.count) runs (\(planned.filter(\.inFit).count) for the fits), \(scorer.tasks.count) tasks")
        var runs: [OverTrainingRun] = []
        var jobs: [TrainingJob] = []
        for p in planned {
            let config = try config(width: p.width, multiplier: p.multiplier, vocabularySize: vocabularySize)
            let dir = RunDirectory(directory.appendingPathComponent(String(format: "runs/w%d-M%g", p.width, p.multiplier)))
            runs.append(OverTrainingRun(width: p.width, multiplier: p.multiplier, inFit: p.inFit,
                                        parameters: try config.model.parameterCounts().scaling, tokens: config.tokensPerStep * config.steps,
                                        steps: config.steps, directory: dir.path, status: .pending))
            if dir.finishedSummary == nil {
                let label = "width \(p.width) M \(p.multiplier): \(config.steps) steps, \(formatCount(config.tokensPerStep * config.steps)) tokens"
                jobs.append(TrainingJob(label: label, directory: dir, config: config, data: data.path, flops: 0))
            }
        }
        for job in jobs { try job.prepare() }
        try executor.train(jobs, batch: "overtrain", events: OverTrainingEvents(jobs: jobs, log: log))
        for i in runs.indices {
            let dir = RunDirectory(path: runs[i].directory)
            guard let summary = dir.finishedSummary else { runs[i].status = .failed; continue }
            runs[i].status = summary.status == .completed ? .done : .diverged
            guard summary.status == .completed, let loss = summary.recorded.last?.validationLoss else { continue }
            runs[i].loss = loss
            let (error, standardError, cached) = try scorer.score(runDirectory: dir.url)
            runs[i].error = error
            runs[i].errorStandardError = standardError
            log((cached ? "[cached]" : "[eval]  ")
                + String(format: "width %d M %g: held-out loss %.4f, error %.4f ± %.4f", runs[i].width, runs[i].multiplier, loss, error, standardError))
        }
        return fitAndPredict(runs, chanceError: scorer.chanceError)
    }

    /// L(C, M) and Err(L) on the finished fit runs; predictions and relative errors for the others.
    public func fitAndPredict(_ measured: [OverTrainingRun], chanceError: Double) -> OverTrainingResult {
        var runs = measured
        var result = OverTrainingResult(study: spec.name, runs: runs)
        let fitRuns = runs.filter { $0.inFit && $0.loss != nil && $0.error != nil }
        do {
            result.lossFit = try fitOverTraining(parameters: fitRuns.map { Double($0.parameters) }, tokens: fitRuns.map { Double($0.tokens) },
                                                 losses: fitRuns.map { $0.loss! })
        } catch { result.lossFitError = "\(error)" }
        do {
            result.errorFit = try fitDownstream(losses: fitRuns.map { $0.loss! }, errors: fitRuns.map { $0.error! })
        } catch { result.errorFitError = "\(error)" }
        result.anchoredErrorFit = AnchoredDownstreamFit(losses: fitRuns.map { $0.loss! }, errors: fitRuns.map { $0.error! }, epsilon: chanceError)
        if let f = result.lossFit, f.E < 0 || f.eta < 0.01 {
            result.notes.append(String(format: "L(C, M) is degenerate (E = %.3g, η = %.3g): the fit runs do not pin the law down (at this scale their losses are limited by training steps more than by size); add fit runs", f.E, f.eta))
        }
        for i in runs.indices where !runs[i].inFit {
            if let f = result.lossFit { runs[i].predictedLoss = f.loss(parameters: Double(runs[i].parameters), tokens: Double(runs[i].tokens)) }
            if let g = result.errorFit {
                runs[i].predictedError = runs[i].predictedLoss.map(g.error(atLoss:))
                runs[i].predictedErrorAtActualLoss = runs[i].loss.map(g.error(atLoss:))
            }
            if let g = result.anchoredErrorFit {
                runs[i].predictedErrorAnchored = runs[i].predictedLoss.map(g.error(atLoss:))
                runs[i].predictedErrorAnchoredAtActualLoss = runs[i].loss.map(g.error(atLoss:))
            }
        }
        if runs.contains(where: { ($0.predictedError ?? 0.5) < 0 || ($0.predictedError ?? 0.5) > 1 }) {
            result.notes.append("the free Err(L) fit predicts errors outside [0, 1]: its fit runs span too little of the curve; see the chance-anchored fit")
        }
        result.runs = runs
        func meanAbs(_ v: [Double]) -> Double? { v.isEmpty ? nil : v.map(abs).reduce(0, +) / Double(v.count) }
        result.meanLossRelativeError = meanAbs(runs.compactMap(\.lossRelativeError))
        result.meanErrorRelativeError = meanAbs(runs.compactMap(\.errorRelativeError))
        result.meanAnchoredErrorRelativeError = meanAbs(runs.compactMap(\.anchoredErrorRelativeError))
        return result
    }

    /// Loss against compute with one line of the fitted law per M, and error against loss with Err(L).
    public static func html(_ r: OverTrainingResult) -> String {
        var lossPlot = SVGPlot(title: "Held-out loss against compute 6ND (lines: fitted L(C, M))", xLabel: "C = 6ND (FLOPs)", yLabel: "loss")
        let ms = Array(Set(r.runs.map(\.multiplier))).sorted()
        for m in ms {
            let points = r.runs.filter { $0.multiplier == m }.sorted { $0.compute < $1.compute }
            lossPlot.series.append(.init(name: String(format: "M = %g", m), points: points.compactMap { p in p.loss.map { (p.compute, $0) } }, line: false))
            if let f = r.lossFit, let lo = points.first?.compute, let hi = points.last?.compute {
                let curve = (0 ... 20).map { k -> (x: Double, y: Double) in
                    let c = lo * pow(hi / lo, Double(k) / 20)
                    let n = (c / (6 * m)).squareRoot()          // C = 6·N·(M·N)
                    return (c, f.loss(parameters: n, tokens: m * n))
                }
                lossPlot.series.append(.init(name: String(format: "fit M = %g", m), points: curve, line: true, marker: "none", dashed: true))
            }
        }
        var errorPlot = SVGPlot(title: "Downstream error against loss (line: fitted Err(L))", xLabel: "held-out loss", yLabel: "1 − average accuracy")
        errorPlot.logX = false
        let measured = r.runs.filter { $0.loss != nil && $0.error != nil }
        errorPlot.series.append(.init(name: "fit runs", points: measured.filter(\.inFit).map { ($0.loss!, $0.error!) }, line: false,
                                      errorBars: measured.filter(\.inFit).map { ($0.error! - $0.errorStandardError!, $0.error! + $0.errorStandardError!) }))
        errorPlot.series.append(.init(name: "held-out runs", points: measured.filter { !$0.inFit }.map { ($0.loss!, $0.error!) }, line: false,
                                      marker: "square",
                                      errorBars: measured.filter { !$0.inFit }.map { ($0.error! - $0.errorStandardError!, $0.error! + $0.errorStandardError!) }))
        if let lo = measured.map({ $0.loss! }).min(), let hi = measured.map({ $0.loss! }).max() {
            let grid = (0 ... 20).map { lo + (hi - lo) * Double($0) / 20 }
            if let g = r.errorFit, grid.allSatisfy({ (0 ... 1).contains(g.error(atLoss: $0)) }) {
                errorPlot.series.append(.init(name: "Err(L)", points: grid.map { ($0, g.error(atLoss: $0)) }, line: true, marker: "none", dashed: true))
            }
            if let g = r.anchoredErrorFit {
                errorPlot.series.append(.init(name: "Err(L), ε = chance", points: grid.map { ($0, g.error(atLoss: $0)) }, line: true, marker: "none", dashed: true))
            }
        }
        var rows = ""
        for run in r.runs {
            func f(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "–" }
            rows += "<tr><td>\(run.width)</td><td>\(f(run.multiplier, "%g"))</td><td>\(run.inFit ? "fit" : "held out")</td><td>\(run.parameters)</td>"
                + "<td>\(run.tokens)</td><td>\(f(run.loss, "%.4f"))</td><td>\(f(run.predictedLoss, "%.4f"))</td><td>\(f(run.lossRelativeError.map { 100 * $0 }, "%+.2f%%"))</td>"
                + "<td>\(f(run.error, "%.4f"))</td><td>\(f(run.predictedError, "%.4f"))</td><td>\(f(run.errorRelativeError.map { 100 * $0 }, "%+.2f%%"))</td></tr>\n"
        }
        return """
            <!doctype html><meta charset="utf-8"><title>\(SVGPlot.escape(r.study))</title>
            <style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:right}</style>
            <h1>Over-training study \(SVGPlot.escape(r.study))</h1>
            \(lossPlot.render())
            \(errorPlot.render())
            <table><tr><th>width</th><th>M</th><th>role</th><th>N</th><th>D</th><th>loss</th><th>predicted</th><th>rel. error</th><th>error</th><th>predicted</th><th>rel. error</th></tr>
            \(rows)</table>
            """
    }
}

/// The over-training study's narration of its runs: one line as each starts and ends.
final class OverTrainingEvents: RunEvents {
    let jobs: [TrainingJob]
    let log: (String) -> Void
    init(jobs: [TrainingJob], log: @escaping (String) -> Void) { self.jobs = jobs; self.log = log }
    func started(_ index: Int, note: String?) throws { log("[train] \(index + 1)/\(jobs.count) \(jobs[index].label) → \(jobs[index].directory.path)") }
    func progress(_ index: Int, _ progress: TrainingProgress) {}
    func ended(_ index: Int, _ outcome: RunOutcome) throws {
        log("[done]    \(jobs[index].label): \(TerminalStudyReporter.describe(outcome))")
        if case .interrupted = outcome { throw StudyStop.interrupted }
    }
}
