import Foundation
import ModelSpec
import ScalingLaws

/// What a study tells the person running it, as it happens. Algorithm 1's steps produce values; the
/// runner turns them into these events; a reporter decides how they look (terminal text, JSON lines).
public enum StudyEvent: Encodable, Sendable {
    case started(study: String, designs: Int, baseWidth: Int, proxyWidths: [Int], targetWidth: Int)
    case gridPhase(baseWidth: Int, pointsPerDesign: Int, transferCheckWidths: [Int])
    case runsPlanned(phase: RunPhase, total: Int, finished: Int, toTrain: Int)
    case runStarted(phase: RunPhase, index: Int, count: Int, label: String, directory: String, note: String?)
    case runProgress(phase: RunPhase, label: String, progress: TrainingProgress, phaseRemaining: TimeInterval?)
    case runEnded(phase: RunPhase, label: String, outcome: RunOutcome)
    case waitingForRun(phase: RunPhase, label: String, pid: Int32)
    /// Runs of one shape (differing only in l, σ, τ and seeds) trained together as one stacked model, or one by one and why.
    case stacking(phase: RunPhase, runs: Int, stacked: Bool, reason: String)
    case gridChosen(design: String, choice: GridChoice)
    case transferChecked(design: String, check: TransferCheck)
    case muTransferPhase(baseWidth: Int)
    case muTransferred(design: String, hyper: MuHyperParameters, basinSize: Int?, rows: [MuTransferRow])
    case proxyPhase(widths: [Int])
    case fitPhase(targetWidth: Int)
    case leftOutOfFit(design: String, skipped: [String])
    case noFit(design: String, error: String, points: ProxyPoints)
    case fitted(design: String, fit: DesignFit, prediction: DesignPrediction, caveat: String?, targetWidth: Int, level: Double)
    case curvesFitted(design: String, result: FitPrediction, role: CurveFitRole, level: Double)
    case compared(comparison: Comparison, targetWidth: Int)
    case costed(cost: StudyCost)
    case targetPhase(targetWidth: Int)
    case targetChecked(design: String, prediction: DesignPrediction?, actual: Double?, status: RunStatus?)
    case downstreamPhase(tasks: Int, itemsPerTask: Int, chanceError: Double)
    case downstreamSkipped(design: String, architecture: Architecture)
    case downstreamScored(design: String, phase: RunPhase, width: Int, validationLoss: Double?, error: Double, standardError: Double, cached: Bool)
}

/// Receives a study's events.
public protocol StudyReporter: AnyObject {
    func report(_ event: StudyEvent)
}

/// The study's narration as lines of text (the terminal; `log` decides where they go), and its runs'
/// progress on a ``ProgressLine`` when one is given.
public final class TerminalStudyReporter: StudyReporter {
    let log: (String) -> Void
    let progressLine: ProgressLine?

    public init(log: @escaping (String) -> Void, progress: ProgressLine? = nil) {
        self.log = log
        progressLine = progress
    }

    public func report(_ event: StudyEvent) {
        if case let .runProgress(phase, label, p, remaining) = event {
            progressLine?.update(Self.progressText(phase: phase, label: label, p, phaseRemaining: remaining),
                                 fraction: Double(p.step) / Double(max(p.totalSteps, 1)), key: label)
            return
        }
        progressLine?.clear()
        for line in lines(event) { log(line) }
    }

    static func progressText(phase: RunPhase, label: String, _ p: TrainingProgress, phaseRemaining: TimeInterval?) -> String {
        let eta = p.step > 0 ? p.elapsed / Double(p.step) * Double(p.totalSteps - p.step) : .nan
        return "[\(phase.rawValue)] \(label): step \(p.step)/\(p.totalSteps)  loss " + String(format: "%.4f", p.loss)
            + String(format: "  %.0f tok/s  ETA run %@", p.tokensPerSecond, duration(eta))
            + (phaseRemaining.map { ", phase \(duration($0))" } ?? "")
    }

    /// "42s", "3m05s", "1h02m".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, s % 3600 / 60)
    }

    static func describe(_ outcome: RunOutcome) -> String {
        switch outcome {
        case let .finished(s) where s.status == .diverged: return "diverged at step \(s.divergedAtStep ?? 0)"
        case let .finished(s):
            let last = s.recorded.last
            return String(format: "training loss %.4f, validation %.4f, %.0f tok/s, %.0f s", last?.trainLoss ?? .nan, last?.validationLoss ?? .nan,
                          s.tokensPerSecond, s.elapsed)
        case .interrupted: return "interrupted at a checkpoint"
        case let .failed(message): return "failed: \(message)"
        }
    }

    func lines(_ event: StudyEvent) -> [String] {
        switch event {
        case let .started(study, designs, base, proxies, target):
            return ["== study \(study): \(designs) design(s), base width \(base), proxies \(proxies), target \(target)"]
        case let .gridPhase(base, points, checkWidths):
            return ["== (1) grid search at width \(base): \(points) points per design"]
                + (checkWidths.isEmpty ? [] : ["   and at widths \(checkWidths) to check that the basin transfers (not used for the choice)"])
        case let .runsPlanned(phase, total, finished, toTrain):
            return ["[\(phase.rawValue)] \(total) runs: \(finished) already finished, \(toTrain) to train"]
        case let .runStarted(phase, index, count, label, directory, note):
            return ["[\(phase.rawValue)] \(index + 1)/\(count) \(label) → \(directory)" + (note.map { " (\($0))" } ?? "")]
        case .runProgress:
            return []
        case let .runEnded(phase, label, outcome):
            return ["[\(phase.rawValue)]   \(label): \(Self.describe(outcome))"]
        case let .stacking(phase, runs, stacked, reason):
            return ["[\(phase.rawValue)] \(runs) runs of one shape " + (stacked ? "train together as one stacked model (\(reason))" : "train one by one: \(reason)")]
        case let .waitingForRun(phase, label, pid):
            return ["[\(phase.rawValue)] \(label): process \(pid) still trains it (left by an earlier run); waiting for it to end"]
        case let .gridChosen(design, choice):
            var lines = choice.points.map { p in
                let mark = p.id == choice.best.id ? "best" : choice.basin.contains(p.hyper) ? "basin" : ""
                let loss = p.loss.map { String(format: "%.4f", $0) } ?? p.status.rawValue
                return String(format: "   %@ lr %-8g std %-6g tau %-4g  %@  %@", design, p.hyper.learningRate, p.hyper.initStd,
                              p.hyper.outputMultiplier, loss, mark)
            }
            for e in choice.edges {
                lines.append(String(format: "   %@: the best point is at the %@ edge of %@ (%g): the basin may lie beyond it; extend the grid",
                                    design, e.isUpper ? "upper" : "lower", e.field, e.value))
            }
            return lines
        case let .transferChecked(design, c):
            let head = String(format: "   %@ at width %d: best lr %g (loss %.4f)", design, c.width, c.best.hyper.learningRate, c.best.loss ?? .nan)
            if c.sameAsBase { return [head + " — the same point: the basin transfers"] }
            guard let t = c.transferred, let shortfall = c.shortfall else {
                return [head + " — a different point than at the base width, whose own run here did not finish: the basin moved; "
                        + "run the grid at a wider base width"]
            }
            return [head + String(format: " — a different point than at the base width, whose lr %g trains %.2f%% worse here (%.4f):",
                                  t.hyper.learningRate, 100 * shortfall, t.loss ?? .nan),
                    String(format: "     a target this wide may train about %.1f%% worse than the law predicts; run the grid at a wider "
                           + "base width, or choose the point best at width %d", 100 * shortfall, c.width)]
        case let .muTransferPhase(base):
            return ["== (2) μTransfer from width \(base) (Table 2: hidden lr l/r, hidden init σ²/r, output τ/r, r = width/\(base))"]
        case let .muTransferred(design, h, basinSize, rows):
            return ["   \(design): l = \(h.learningRate), σ = \(h.initStd), τ = \(h.outputMultiplier)"
                    + (basinSize.map { "; averaging over \($0) basin points" } ?? "")]
                + rows.map { String(format: "     width %5d  r %-6g hidden lr %-10.4g output mult %-8.4g", $0.width, $0.ratio, $0.hiddenLearningRate,
                                    $0.outputMultiplier) }
        case let .proxyPhase(widths):
            return ["== (3) proxies at widths \(widths)"]
        case let .fitPhase(target):
            return ["== (4) fit L = a·C^b + c per design, (5) predict the target width \(target)"]
        case let .leftOutOfFit(design, skipped):
            return ["   \(design): left out of the fit: \(skipped.joined(separator: "; "))"]
        case let .noFit(design, error, points):
            return ["   \(design): no final-loss fit: \(error)",
                    "   \(design): proxy losses \(zip(points.sizes, points.losses).map { String(format: "%.3g params: %.4f", $0, $1) }.joined(separator: ", "))"]
        case let .fitted(d, f, prediction, caveat, targetWidth, level):
            let fit = f.fit
            let cText = fit.cAtBound ? "c at its bound 0: fitted as a·C^b" : String(format: "c = %.4f ± %.2g", fit.c, fit.standardDeviations[2])
            var lines = [String(format: "   %@: a = %.4g ± %.2g (C in billions: %.4g ± %.2g), b = %.4f ± %.2g, %@, rmse %.2g, n %d",
                                d, fit.a, fit.standardDeviations[0], fit.a(perUnit: 1e9), fit.aStandardDeviation(perUnit: 1e9), fit.b,
                                fit.standardDeviations[1], cText, fit.rmse, fit.n)]
            for p in f.backtest {
                lines.append(String(format: "   %@: backtest at %.3g params: predicted %.4f, actual %.4f (%+.2f%%)", d, p.parameters,
                                    p.predicted, p.actual, 100 * p.relativeError))
            }
            if let sigma = fit.sigma, let lo = sigma.min(), let hi = sigma.max() {
                lines.append(String(format: "   %@: each width's mean over its seeds, weighted by its standard error (%.2g to %.2g)", d, lo, hi))
            }
            if let e = f.backtestError { lines.append("   \(d): warning: no backtest: \(e)") }
            lines.append(String(format: "   %@: predicted loss at width %d (%.3g params): %.4f [%.4f, %.4f] (%.0f%% interval, %@)", d,
                                targetWidth, Double(prediction.targetParameters), prediction.loss, prediction.lower, prediction.upper,
                                100 * level, prediction.interval ?? "delta method"))
            if let bl = prediction.bootstrapLower, let bu = prediction.bootstrapUpper {
                lines.append(String(format: "   %@: bootstrap interval [%.4f, %.4f] (%@)", d, bl, bu, prediction.bootstrapNote ?? ""))
            } else if let note = prediction.bootstrapNote { lines.append("   \(d): \(note)") }
            if let caveat { lines.append("   \(d): warning: \(caveat)") }
            return lines
        case let .curvesFitted(d, r, role, level): return curveLines(d, r, role: role, level: level)
        case let .compared(c, targetWidth):
            guard c.ranking.count >= 2, let separate = c.intervalsSeparate else {
                return ["== (6) comparison: \(c.ranking.count) design(s) with a prediction, nothing to compare"]
            }
            let (a, b) = (c.ranking[0], c.ranking[1])
            return ["== (6) comparison at width \(targetWidth): \(a.design) is predicted better than \(b.design) by "
                    + String(format: "%.4f (%.2f%%); ", b.loss - a.loss, 100 * (b.loss - a.loss) / b.loss)
                    + (separate ? "the intervals separate" : "the intervals overlap: not a confident difference")]
        case let .costed(c):
            return [String(format: "== (7) cost: the study trained %d runs for %.3g FLOPs = %.3f× the target run(s) by Eq. (1), %.3f× by counted FLOPs",
                           c.runs, c.flops, c.equation1, c.counted)]
        case let .targetPhase(target):
            return ["== (8) training the target width \(target) to check the prediction"]
        case let .targetChecked(design, prediction, actual, status):
            guard let actual else { return ["   \(design): the target run did not finish (\(status?.rawValue ?? "missing"))"] }
            guard let p = prediction else { return [String(format: "   %@: actual %.4f (no prediction)", design, actual)] }
            return [String(format: "   %@: predicted %.4f, actual %.4f, error %+.2f%%", design, p.loss, actual, 100 * (p.loss - actual) / actual)]
        case let .downstreamPhase(tasks, items, chance):
            return ["== (9) downstream: \(tasks) built-in tasks, \(items) items each (chance error \(String(format: "%.3f", chance)))"]
        case let .downstreamSkipped(design, architecture):
            return ["   \(design): \(architecture.rawValue) is not a causal model; multiple-choice scoring skipped"]
        case let .downstreamScored(design, phase, width, validationLoss, error, standardError, cached):
            return [String(format: "   %@ %@ width %d: held-out loss %@, error %.4f ± %.4f%@", design, phase.rawValue, width,
                           validationLoss.map { String(format: "%.4f", $0) } ?? "–", error, standardError, cached ? " (cached)" : "")]
        }
    }
}

/// The events as JSON lines (for `--json`, on standard error), without the per-step progress.
public final class JSONLinesStudyReporter: StudyReporter {
    let write: (String) -> Void
    let encoder = JSONEncoder()

    public init(write: @escaping (String) -> Void) {
        self.write = write
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    }

    public func report(_ event: StudyEvent) {
        if case .runProgress = event { return }
        if let data = try? encoder.encode(event) { write(String(decoding: data, as: UTF8.self)) }
    }
}
