import Foundation
import ModelSpec
import ScalingLaws

// Algorithm 1's decisions as small functions of what the runs measured: no training, no narration, no
// database. ``StudyRunner`` calls them in order; StudyTests call them on made-up runs.

/// (1) The grid point a design continues with, and its basin.
public struct GridChoice: Codable, Sendable {
    public var best: StoredRun
    /// Every finished point whose loss is within the tolerance of the best (the best included).
    public var basin: [MuHyperParameters]
    /// The grid's runs, as measured (for the narration's table).
    public var points: [StoredRun]
    /// Axes on which the best point is the grid's smallest or largest value: the optimum may lie outside.
    public var edges: [GridEdge]
}

/// The best point at the edge of one axis of the grid.
public struct GridEdge: Codable, Sendable, Equatable {
    public enum Axis: String, Codable, Sendable { case learningRate, initStd, outputMultiplier }
    public var axis: Axis
    public var value: Double
    /// true: the largest value of the axis; false: the smallest.
    public var isUpper: Bool
    /// The study file's field to extend.
    public var field: String {
        switch axis {
        case .learningRate: return "grid.learningRates"
        case .initStd: return "grid.initStds"
        case .outputMultiplier: return "grid.outputMultipliers"
        }
    }
}

/// (1) The lowest finished loss of the grid, never a diverged or failed point; the basin is every finished
/// point within `tolerance` (a fraction) of it.
public func chooseGridPoint(_ points: [StoredRun], tolerance: Double, design: String, width: Int) throws -> GridChoice {
    let finished = points.filter { $0.status == .done && ($0.loss?.isFinite ?? false) }
    guard let best = finished.min(by: { $0.loss! < $1.loss! }) else {
        throw StudyError.failed("design \(design): every grid point diverged or failed at width \(width) (\(points.map(\.status.rawValue))): lower grid.learningRates")
    }
    let basin = finished.filter { $0.loss! <= best.loss! * (1 + tolerance) }.map(\.hyper)
    var edges: [GridEdge] = []
    let axes: [(GridEdge.Axis, (MuHyperParameters) -> Double)] = [(.learningRate, { $0.learningRate }), (.initStd, { $0.initStd }),
                                                                   (.outputMultiplier, { $0.outputMultiplier })]
    for (axis, value) in axes {
        let values = Set(points.map { value($0.hyper) })
        guard values.count > 1, let lo = values.min(), let hi = values.max() else { continue }
        let v = value(best.hyper)
        if v == lo || v == hi { edges.append(GridEdge(axis: axis, value: v, isUpper: v == hi)) }
    }
    return GridChoice(best: best, basin: basin, points: points, edges: edges)
}

/// (1) The transfer check at another width: that width's best finished point, whether it is the base's, and
/// how much worse the base's point trains there (`shortfall`, a fraction of the best loss). Proxies and the
/// target all train at the base's point, so a target this wide may train about `shortfall` worse than the law
/// fitted to narrower proxies predicts (docs/RESULTS.md, "μTransfer at large width ratios").
public struct TransferCheck: Codable, Sendable {
    public var width: Int
    public var best: StoredRun
    public var sameAsBase: Bool
    /// The base's chosen point at this width; nil when it did not finish (diverged or failed).
    public var transferred: StoredRun? = nil
    /// transferred loss / best loss − 1: 0 when the basin transfers, nil when the base's point did not finish.
    public var shortfall: Double? = nil
}

public func checkTransfer(_ runs: [StoredRun], width: Int, base: GridChoice) -> TransferCheck? {
    let ok = runs.filter { $0.status == .done && $0.loss != nil }
    guard let b = ok.min(by: { $0.loss! < $1.loss! }), let bestLoss = b.loss else { return nil }
    let transferred = ok.first { $0.hyper == base.best.hyper }
    return TransferCheck(width: width, best: b, sameAsBase: b.hyper == base.best.hyper, transferred: transferred,
                         shortfall: bestLoss > 0 ? transferred?.loss.map { $0 / bestLoss - 1 } : nil)
}

/// (2) μTransfer: the same (l, σ, τ) at every width; Table 2 scales them per tensor by r = width / base.
public struct MuTransferRow: Codable, Sendable {
    public var width: Int
    public var ratio: Double
    public var hiddenLearningRate: Double
    public var outputMultiplier: Double
}

public func muTransfer(_ hyper: MuHyperParameters, base: Int, widths: [Int]) -> [MuTransferRow] {
    widths.map { w in
        let r = Double(w) / Double(base)
        return MuTransferRow(width: w, ratio: r, hiddenLearningRate: hyper.learningRate / r, outputMultiplier: hyper.outputMultiplier / r)
    }
}

/// (4) The points a design's fit uses: per proxy width, C and the mean loss of its finished runs, and with
/// seeds the standard error of that mean.
public struct ProxyPoints: Codable, Sendable {
    public var sizes: [Double] = []
    public var losses: [Double] = []
    /// Per point, the finished runs' losses the mean is taken over (one per seed and basin point).
    public var runLosses: [[Double]] = []
    /// With seeds: per point, the standard error of its mean, s/√k — s the seeds' standard deviation pooled
    /// over every (width, hyperparameters) cell, k the point's finished runs (docs/DESIGN.md, "Seeds").
    /// nil with one seed, or when no cell has two finished seeds: the fit is then unweighted.
    public var standardErrors: [Double]?
    /// The pooled standard deviation and its degrees of freedom (Σ (k_cell − 1)).
    public var seedStandardDeviation: Double?
    public var seedDegreesOfFreedom: Int?
    /// Widths with runs that did not finish, and their statuses (left out of the mean, or of the fit).
    public var skipped: [String] = []
}

/// The fit's points from a design's proxy runs; `seeds` is the study's K (standard errors only when K > 1).
public func proxyPoints(_ runs: [StoredRun], widths: [Int], seeds: Int = 1) -> ProxyPoints {
    var points = ProxyPoints()
    var squares = 0.0, dof = 0
    for w in widths {
        let atWidth = runs.filter { $0.width == w }
        let ok = atWidth.filter { $0.status == .done && $0.loss != nil }
        if ok.count < atWidth.count { points.skipped.append("width \(w): \(atWidth.filter { $0.status != .done }.map(\.status.rawValue))") }
        guard let first = ok.first else { continue }
        let losses = ok.map { $0.loss! }
        points.sizes.append(Double(first.parameters))
        points.losses.append(losses.reduce(0, +) / Double(losses.count))
        points.runLosses.append(losses)
        // Seeds of one cell (width and hyperparameters) scatter about the cell's mean.
        for cell in Dictionary(grouping: ok, by: \.hyper).values where cell.count >= 2 {
            let l = cell.map { $0.loss! }, mean = l.reduce(0, +) / Double(l.count)
            squares += l.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
            dof += l.count - 1
        }
    }
    if seeds > 1 && dof > 0 && squares > 0 {
        let s = (squares / Double(dof)).squareRoot()
        points.seedStandardDeviation = s
        points.seedDegreesOfFreedom = dof
        points.standardErrors = points.runLosses.map { s / Double($0.count).squareRoot() }
    }
    return points
}

/// (4) A design's μScaling fit and its backtest (the `holdOut` largest proxies predicted from the rest).
public struct DesignFit: Codable, Sendable {
    public var fit: MuScalingFit
    public var backtest: [BacktestPoint]
    /// Why the backtest could not be made, when it was asked for and failed.
    public var backtestError: String?
}

/// Throws the law's error when the points admit no decreasing power law. The backtest needs at least four
/// points left after holding out; with fewer it is skipped (not an error). With standard errors (seeds) the
/// fit weights by them, its covariance from the seeds' scatter pooled with the means' (``SigmaScale/pooled``).
public func fitDesign(_ points: ProxyPoints, holdOut: Int) throws -> DesignFit {
    let fit = try fitMuScaling(parameters: points.sizes, losses: points.losses, sigma: points.standardErrors, sigmaScale: .pooled,
                               seedDegreesOfFreedom: points.seedDegreesOfFreedom)
    var result = DesignFit(fit: fit, backtest: [])
    if holdOut > 0 && points.sizes.count - holdOut >= 4 {
        do {
            result.backtest = try backtestMuScaling(parameters: points.sizes, losses: points.losses, sigma: points.standardErrors,
                                                    holdOutLargest: holdOut)
        } catch {
            result.backtestError = error.localizedDescription
        }
    }
    return result
}

/// How a prediction interval that includes the target's run scatter says so.
let withTargetScatter = ", widened by the target's run scatter (for its measured loss, the mean of its seeds)"

/// (5) How much the target's measured loss — the mean of its `targetRuns` seeds — scatters about the law:
/// one run's variance over `targetRuns`. One run's variance is the fit's scale times the seeds' s² (the seeds'
/// scatter pooled with the means' about the law), or, without seeds, the residual variance SSE/(n − p); with
/// no fit, the seeds' s² alone. nil when nothing measured it (one seed and no fit).
public func targetRunVariance(_ fit: MuScalingFit?, points: ProxyPoints, targetRuns: Int) -> Double? {
    let k = Double(max(targetRuns, 1))
    if let fit { return fit.measurementVariance(sigma: fit.sigma == nil ? 1 : (points.seedStandardDeviation ?? 1)) / k }
    return points.seedStandardDeviation.map { $0 * $0 / k }
}

/// (5) The fit's prediction at the target's parameter count, with its interval (the delta method's, c fixed
/// when at its bound) and a residual bootstrap's beside it; `caveat` warns when the fit is shaky. With
/// `targetVariance` (``targetRunVariance(_:points:targetRuns:)``) the delta-method interval is for the
/// target's measured loss, not only the law's value: what a trained target is checked against.
public func predict(_ fit: MuScalingFit, design: String, targetParameters: Int, level: Double,
                    targetVariance: Double? = nil) -> (DesignPrediction, caveat: String?) {
    let p = fit.prediction(at: Double(targetParameters), level: level, measurementVariance: targetVariance ?? 0)
    return (DesignPrediction(design: design, targetParameters: targetParameters, loss: p.loss, lower: p.lower, upper: p.upper, actual: nil,
                             interval: p.method + (targetVariance == nil ? "" : withTargetScatter),
                             bootstrapLower: p.bootstrapLower, bootstrapUpper: p.bootstrapUpper,
                             bootstrapNote: p.bootstrapNote + (targetVariance == nil ? "" : " (the law's, without the target's scatter)")), p.caveat)
}

/// (6) Designs ranked by predicted loss, best first; whether the best's interval lies wholly below the
/// runner-up's (nil with fewer than two predictions).
public struct Comparison: Codable, Sendable {
    public var ranking: [DesignPrediction]
    public var intervalsSeparate: Bool?
}

public func compare(_ predictions: [DesignPrediction]) -> Comparison {
    let ranked = predictions.sorted { $0.loss < $1.loss }
    return Comparison(ranking: ranked, intervalsSeparate: ranked.count >= 2 ? ranked[0].upper < ranked[1].lower : nil)
}

/// (7) What the study trained for its predictions against the target run(s): Eq. (1) with each design's
/// own depth, summed over designs, and the same by counted FLOPs.
public struct StudyCost: Codable, Sendable {
    public var runs: Int
    public var flops: Double
    public var equation1: Double
    public var counted: Double
}

/// One design's part of the cost: its depth, the distinct runs the prediction used (grid at the base width
/// and proxies; not the transfer check) and its target's counted FLOPs.
public struct DesignCostInput: Sendable {
    public var layers: Int
    public var runs: [(width: Int, steps: Int, flops: Double)]
    public var targetFLOPs: Double
    public init(layers: Int, runs: [(width: Int, steps: Int, flops: Double)], targetFLOPs: Double) {
        self.layers = layers
        self.runs = runs
        self.targetFLOPs = targetFLOPs
    }
}

public func studyCost(_ designs: [DesignCostInput], targetWidth: Int, steps: Int, sequenceLength: Int, vocabulary: Int,
                      batchSize: Int) -> StudyCost {
    var count = 0
    var plannedEq1 = 0.0, targetEq1 = 0.0, plannedFLOPs = 0.0, targetFLOPs = 0.0
    for d in designs {
        func eq1(_ width: Int, _ steps: Int) -> Double {
            Cost.stepFLOPs(layers: d.layers, width: width, sequenceLength: sequenceLength, vocabulary: vocabulary, batchSize: batchSize)
                * Double(steps)
        }
        for r in d.runs { count += 1; plannedEq1 += eq1(r.width, r.steps); plannedFLOPs += r.flops }
        targetEq1 += eq1(targetWidth, steps)
        targetFLOPs += d.targetFLOPs
    }
    return StudyCost(runs: count, flops: plannedFLOPs, equation1: plannedEq1 / targetEq1, counted: plannedFLOPs / targetFLOPs)
}
