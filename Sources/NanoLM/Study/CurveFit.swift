import Foundation
import ScalingLaws

// Learning curves in the fit (issue 16, item 4; docs/DESIGN.md, "Learning curves in the fit"): every proxy's
// losses along training — its evaluations on the fixed validation set, or with `budget.fitLoss:
// trainingWindow` its windowed training losses — fitted by L(N, D) = E + A/N^α + B/D^β, predict the target
// at its own token count. A study computes both fits; `options.fitOn` says which one is its prediction, and the
// other is reported beside it.

/// What a study's prediction is fitted on (`options.fitOn`).
public enum FitSource: String, Codable, Sendable, CaseIterable {
    /// Each proxy's final loss: the paper's μScaling fit L = a·C^b + c (the default).
    case finalLoss
    /// Every proxy's learning curve: L(N, D) = E + A/N^α + B/D^β on the losses the study fits, along training.
    case learningCurves
}

/// A design's prediction by one of the two fits.
public struct FitPrediction: Codable, Sendable {
    public var fitOn: FitSource
    /// nil when the fit failed (`error` says why).
    public var prediction: DesignPrediction?
    public var backtest: [BacktestPoint]
    public var error: String?
    /// The curve law (nil for the final-loss fit, whose law is the outcome's `fit`), the points it used and
    /// the token count it predicts at.
    public var curves: LearningCurveFit?
    public var tokens: Double?
}

/// One run's learning curve from its metrics.jsonl: the mean training loss over consecutive windows of
/// `window` steps ending at the last step, from `fraction` of the steps on (after warmup); D is the mean of
/// the tokens seen over the window, so the last point is the run's final loss (the mean over its last
/// `window` steps) where it was measured. Validation lines, diverged lines and steps past `steps` are skipped.
public func learningCurve(metrics url: URL, run: Int, parameters: Double, steps: Int, window: Int, from fraction: Double) throws -> [CurvePoint] {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else {
        throw StudyError.failed("\(url.path): cannot read the run's metrics (the learning-curve fit needs them): retrain the run or use options.fitOn: finalLoss")
    }
    var byStep: [Int: (loss: Double, tokens: Double)] = [:]
    for line in text.split(separator: "\n") {
        guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["diverged"] == nil,
              let step = o["step"] as? Int, let loss = (o["loss"] as? NSNumber)?.doubleValue, let tokens = (o["tokens"] as? NSNumber)?.doubleValue,
              loss.isFinite, loss > 0 else { continue }
        byStep[step] = (loss, tokens)
    }
    let first = max(1, Int((fraction * Double(steps)).rounded(.up)))
    var points: [CurvePoint] = []
    var end = steps
    while end - window + 1 >= first {
        let inWindow = (end - window + 1 ... end).compactMap { byStep[$0] }
        // A window with fewer than half its steps recorded is no mean of that window: skipped.
        if inWindow.count * 2 >= window {
            let n = Double(inWindow.count)
            points.append(CurvePoint(run: run, parameters: parameters, tokens: inWindow.map(\.tokens).reduce(0, +) / n,
                                     loss: inWindow.map(\.loss).reduce(0, +) / n))
        }
        end -= window
    }
    return points.reversed()
}

/// One run's learning curve from its evaluations on the fixed validation set: the points from `fraction` of
/// the steps on (after warmup), D the training tokens seen at each; the last is the run's final loss where
/// the study fits the validation loss.
public func validationCurve(_ evaluations: [ValidationPoint], run: Int, parameters: Double, steps: Int, from fraction: Double) -> [CurvePoint] {
    let first = max(1, Int((fraction * Double(steps)).rounded(.up)))
    return evaluations.filter { $0.step >= first && $0.step <= steps && $0.loss.isFinite && $0.loss > 0 }.sorted { $0.step < $1.step }
        .map { CurvePoint(run: run, parameters: parameters, tokens: Double($0.tokens), loss: $0.loss) }
}

/// The curve fit of a design's points (every finished proxy's curve) and its prediction at the target's
/// parameter count and the token count of the proxies' last point (every run trains the same steps, so the
/// target's final loss is measured there). Never throws: a failure is the result's `error`. `targetVariance`
/// widens the interval by the target's run scatter, as the final-loss fit's (``predict(_:design:targetParameters:level:targetVariance:)``).
public func fitOnCurves(_ curves: () throws -> [CurvePoint], holdOut: Int, design: String, targetParameters: Int, level: Double,
                        targetVariance: Double? = nil) -> FitPrediction {
    var result = FitPrediction(fitOn: .learningCurves, prediction: nil, backtest: [], error: nil, curves: nil, tokens: nil)
    do {
        let points = try curves()
        let fit = try fitLearningCurves(points)
        guard let tokens = points.map(\.tokens).max() else { throw StudyError.failed("no learning-curve points") }
        let x = (parameters: Double(targetParameters), tokens: tokens)
        guard fit.varianceIsResolved(at: x) else {
            throw ScalingLawError.degenerate(law: "learning-curve L = E + A/N^α + B/D^β",
                                             reason: "its coefficients are too collinear at the target to give an interval (gᵀΣg cancels to ≤ 0)")
        }
        let (lower, upper) = fit.interval(at: x, level: level, addedVariance: targetVariance ?? 0)
        result.curves = fit
        result.tokens = tokens
        result.prediction = DesignPrediction(design: design, targetParameters: targetParameters, loss: fit.value(at: x), lower: lower,
                                             upper: upper, actual: nil,
                                             interval: "learning curves: delta method, cluster-robust by run, t on \(max(fit.runs - 1, 1)) degrees of freedom"
                                                 + (targetVariance == nil ? "" : withTargetScatter))
        if holdOut > 0 {
            do { result.backtest = try backtestLearningCurves(points, holdOutLargest: holdOut) } catch { result.error = "no backtest: \(error.localizedDescription)" }
        }
    } catch {
        result.error = error.localizedDescription
    }
    return result
}

extension StudyResult.DesignOutcome {
    /// Makes `fitOn`'s fit the outcome's prediction (and backtest) and keeps the other fit as `alternative`.
    /// When the final-loss fit is degenerate and the curves give a prediction, the curves make it: a refusal
    /// helps no one when the study holds a second fit that works (docs/DESIGN.md, "A degenerate final-loss
    /// fit falls back to the learning curves"); `fitOn` then says learningCurves and `alternative.error` why.
    mutating func use(_ fitOn: FitSource, curves: FitPrediction) {
        let fallsBack = fitOn == .finalLoss && prediction == nil && fitError != nil && curves.prediction != nil
        if fitOn == .finalLoss && !fallsBack {
            alternative = curves
            return
        }
        alternative = FitPrediction(fitOn: .finalLoss, prediction: prediction, backtest: backtest,
                                    error: fitError ?? backtestError.map { "no backtest: \($0)" }, curves: nil, tokens: nil)
        self.fitOn = .learningCurves
        prediction = curves.prediction
        backtest = curves.backtest
        fitError = curves.prediction == nil ? curves.error : nil
    }

    /// What the learning-curve fit is to this outcome of a study whose `options.fitOn` is `asked`.
    func curveRole(asked: FitSource) -> CurveFitRole {
        fitOn != .learningCurves ? .comparison : asked == .learningCurves ? .chosen : .fallback
    }
}

extension StudyRunner {
    /// (4b) The learning-curve fit beside the final-loss one: reported, and made the outcome's prediction
    /// when `options.fitOn` asks for it.
    func withCurves(_ outcome: StudyResult.DesignOutcome, runs: [StoredRun], target: StudyRun,
                    targetVariance: Double?) throws -> StudyResult.DesignOutcome {
        let curves = fitOnCurves({ try curvePoints(runs) }, holdOut: spec.backtestCount, design: outcome.design,
                                 targetParameters: target.parameters, level: spec.level, targetVariance: targetVariance)
        var result = outcome
        result.use(spec.fitOn, curves: curves)
        let role = result.curveRole(asked: spec.fitOn)
        reporter.report(.curvesFitted(design: outcome.design, result: curves, role: role, level: spec.level))
        if role != .comparison, let p = curves.prediction { try store.savePrediction(study: spec.name, p) }
        return result
    }

    /// Every finished proxy's curve of the loss the study fits: its validation evaluations, or its training
    /// windows of `lossWindow` steps.
    func curvePoints(_ runs: [StoredRun]) throws -> [CurvePoint] {
        let proxies = runs.filter { $0.status == .done && spec.proxyWidths.contains($0.width) }
        switch spec.fitLoss {
        case .validation:
            let evaluations = Dictionary(try store.validationCurves(study: spec.name).map { ($0.run.id, $0.points) }, uniquingKeysWith: { a, _ in a })
            return proxies.enumerated().flatMap { i, run in
                validationCurve(evaluations[run.id] ?? [], run: i, parameters: Double(run.parameters), steps: run.steps, from: spec.curveFrom)
            }
        case .trainingWindow:
            let window = min(spec.budget.lossWindow ?? 100, spec.budget.steps)
            return try proxies.enumerated().flatMap { i, run in
                try learningCurve(metrics: RunDirectory(path: run.directory).metricsURL, run: i, parameters: Double(run.parameters),
                                  steps: run.steps, window: window, from: spec.curveFrom)
            }
        }
    }
}

/// What the learning-curve fit is to a study's outcome.
public enum CurveFitRole: String, Codable, Sendable {
    /// The study's prediction, as `options.fitOn: learningCurves` asks.
    case chosen
    /// The study's prediction because the final-loss fit is degenerate.
    case fallback
    /// Beside the final-loss fit's prediction, for comparison.
    case comparison
}

extension TerminalStudyReporter {
    /// The learning-curve fit's law, backtest and prediction, and whether the study uses it.
    func curveLines(_ d: String, _ r: FitPrediction, role: CurveFitRole, level: Double) -> [String] {
        let role = switch role {
        case .chosen: "the study's prediction (options.fitOn: learningCurves)"
        case .fallback: "the study's prediction, since the final-loss fit is degenerate"
        case .comparison: "for comparison (options.fitOn: finalLoss)"
        }
        guard let fit = r.curves, let p = r.prediction, let tokens = r.tokens else {
            return ["   \(d): learning curves, \(role): no fit: \(r.error ?? "unknown")"]
        }
        func coefficient(_ name: String, _ i: Int) -> String {
            fit.atBound[i] ? "\(name) at its bound" : String(format: "%@ = %.4g ± %.2g", name, fit.coefficients[i], fit.standardDeviations[i])
        }
        var lines = ["   \(d): learning curves, \(role): L = E + A/N^α + B/D^β, "
            + [("E", 0), ("A", 1), ("α", 2), ("B", 3), ("β", 4)].map { coefficient($0.0, $0.1) }.joined(separator: ", ")
            + String(format: ", rmse %.2g, %d points of %d runs", fit.rmse, fit.n, fit.runs)]
        for b in r.backtest {
            lines.append(String(format: "   %@: learning-curve backtest at %.3g params: predicted %.4f, actual %.4f (%+.2f%%)", d, b.parameters,
                                b.predicted, b.actual, 100 * b.relativeError))
        }
        if let e = r.error { lines.append("   \(d): learning curves: \(e)") }
        lines.append(String(format: "   %@: learning curves predict %.4f [%.4f, %.4f] at %.3g params, %.3g tokens (%.0f%% interval, %@)", d, p.loss,
                            p.lower, p.upper, Double(p.targetParameters), tokens, 100 * level, p.interval ?? ""))
        return lines
    }
}
