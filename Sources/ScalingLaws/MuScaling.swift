import Foundation

/// μScaling's law L(C) = a·C^b + c (paper §3.1), fitted to proxies' losses against parameter count C.
/// Coefficients are in raw parameters; `a(perUnit: 1e9)` gives the paper's a with C in billions.
public struct MuScalingFit: LeastSquaresLaw, Codable, Sendable, Equatable {
    public var a: Double
    public var b: Double
    public var c: Double
    /// Standard deviations of (a, b, c): sqrt(diag(pcov)), as `curve_fit` with absolute_sigma=False.
    public var standardDeviations: [Double]
    /// Covariance of (a, b, c), C in raw parameters.
    public var covariance: [[Double]]
    /// Number of points fitted.
    public var n: Int
    /// Root-mean-square residual of the fitted points.
    public var rmse: Double
    /// The sizes and losses fitted (kept for reports and bootstrap).
    public var parameters: [Double]
    public var losses: [Double]

    /// The law at `parameters` (raw count).
    public func loss(at parameters: Double) -> Double { a * pow(parameters, b) + c }

    /// a when C is measured in `unit` parameters (1e9: the paper's billions); b and c do not change.
    public func a(perUnit unit: Double) -> Double { a * pow(unit, b) }

    /// Standard deviation of a when C is measured in `unit` parameters.
    public func aStandardDeviation(perUnit unit: Double) -> Double {
        // a_u = a·u^b: gradient (u^b, a·u^b·ln u) over (a, b)
        let g = [pow(unit, b), a * pow(unit, b) * log(unit)]
        let v = g[0] * g[0] * covariance[0][0] + 2 * g[0] * g[1] * covariance[0][1] + g[1] * g[1] * covariance[1][1]
        return max(v, 0).squareRoot()
    }

    public var coefficients: [Double] { [a, b, c] }
    public func value(at parameters: Double) -> Double { loss(at: parameters) }
    /// ∂L/∂(a, b, c) = (C^b, a·C^b·ln C, 1).
    public func gradient(at parameters: Double) -> [Double] {
        let pb = pow(parameters, b)
        return [pb, a * pb * log(parameters), 1]
    }
}

/// Fits L(C) = a·C^b + c by least squares.
///
/// Robust where `curve_fit` with a default p0 is not (issue: b ≈ 1e-4 or b ≈ 55 on the paper's data): C is
/// scaled by its geometric mean inside the fit; starting points come from the data (for a grid of c below
/// the smallest loss, a and b from the line through log(L − c) against log C); every start is refined by
/// Levenberg–Marquardt and the lowest sum of squares with b < 0 wins. A fit that is still degenerate throws.
///
/// - Parameters:
///   - parameters: parameter counts C (raw, embeddings included), finite and positive.
///   - losses: the proxies' losses, finite and positive.
///   - sigma: optional per-point standard deviations (curve_fit's `sigma`): residuals are divided by them.
public func fitMuScaling(parameters: [Double], losses: [Double], sigma: [Double]? = nil) throws -> MuScalingFit {
    let law = "μScaling L = a·C^b + c"
    guard parameters.count == losses.count else {
        throw ScalingLawError.degenerate(law: law, reason: "\(parameters.count) sizes but \(losses.count) losses")
    }
    guard parameters.count >= 4 else { throw ScalingLawError.tooFewPoints(law: law, needed: 4, got: parameters.count) }
    for (i, v) in parameters.enumerated() where !(v.isFinite && v > 0) { throw ScalingLawError.invalidValue(what: "size", index: i, value: v) }
    for (i, v) in losses.enumerated() where !(v.isFinite && v > 0) { throw ScalingLawError.invalidValue(what: "loss", index: i, value: v) }
    let weights = sigma ?? [Double](repeating: 1, count: losses.count)
    for (i, v) in weights.enumerated() where !(v.isFinite && v > 0) { throw ScalingLawError.invalidValue(what: "sigma", index: i, value: v) }

    // Scaled sizes x = C / s, s = geometric mean: the fit sees x ≈ 1, so a and b are of order one.
    let s = exp(parameters.map { log($0) }.reduce(0, +) / Double(parameters.count))
    let x = parameters.map { $0 / s }
    let problem = LeastSquaresProblem(
        residuals: { (t: [Double]) -> [Double] in
            x.indices.map { i in (t[0] * pow(x[i], t[1]) + t[2] - losses[i]) / weights[i] }
        },
        jacobian: { (t: [Double]) -> [[Double]] in
            x.indices.map { i in
                let p: Double = pow(x[i], t[1]), w = weights[i]
                return [p / w, t[0] * p * log(x[i]) / w, 1 / w]
            }
        })

    var best: LeastSquaresResult? = nil
    for start in muScalingStarts(x: x, losses: losses) {
        // c ≥ 0: a loss has a non-negative floor. Without it, nearly log-linear data drives the fit to
        // b → 0⁻ with a and c huge and opposite (a·C^b + c ≈ a + c + a·b·ln C), which extrapolates nothing.
        let r = levenbergMarquardt(problem, start: start, lower: [0, -.infinity, 0])
        let usable = r.sumOfSquares.isFinite && r.parameters[1] <= -1e-3 && r.parameters[0] > 0 && r.covariance != nil
        if usable && r.sumOfSquares < (best?.sumOfSquares ?? .infinity) { best = r }
    }
    guard let fit = best, let scaledCovariance = fit.covariance else {
        throw ScalingLawError.degenerate(law: law, reason: "no start reached a decreasing power law (b ≤ −0.001, c ≥ 0) with a finite covariance")
    }
    let (alpha, b, c) = (fit.parameters[0], fit.parameters[1], fit.parameters[2])
    // Back to raw parameters: a = α·s^(−b). Covariance through the Jacobian of (α, b, c) → (a, b, c).
    let sb: Double = pow(s, -b)
    let a = alpha * sb
    let covariance = Matrix.congruence([[sb, -a * log(s), 0], [0, 1, 0], [0, 0, 1]], scaledCovariance)
    var sse = 0.0
    for (p, l) in zip(parameters, losses) { let d: Double = a * pow(p, b) + c - l; sse += d * d }
    let rmse = (sse / Double(losses.count)).squareRoot()
    guard b > -20, covariance.joined().allSatisfy(\.isFinite) else {
        throw ScalingLawError.degenerate(law: law, reason: "b = \(b) with a non-finite covariance")
    }
    return MuScalingFit(a: a, b: b, c: c, standardDeviations: (0..<3).map { covariance[$0][$0].squareRoot() },
                        covariance: covariance, n: losses.count, rmse: rmse, parameters: parameters, losses: losses)
}

/// Starting points (α, b, c) for scaled sizes: for a grid of asymptotes c below the smallest loss, the least-
/// squares line through (log x, log(L − c)) gives b and log α.
func muScalingStarts(x: [Double], losses: [Double]) -> [[Double]] {
    let lo = losses.min()!, hi = losses.max()!
    let span = max(hi - lo, 1e-6 * lo)
    var cs: [Double] = [0]
    for f in [0.5, 0.8, 0.9, 0.95, 0.98] { cs.append(lo * f) }
    for f in [2.0, 1.0, 0.5, 0.2, 0.1, 0.05, 0.01] { cs.append(lo - f * span) }
    let lx = x.map { log($0) }
    let mx = lx.reduce(0, +) / Double(lx.count)
    return cs.filter { $0 < lo }.compactMap { c in
        let ly: [Double] = losses.map { log($0 - c) }
        let my: Double = ly.reduce(0, +) / Double(ly.count)
        var sxx = 0.0, sxy = 0.0
        for i in lx.indices { sxx += (lx[i] - mx) * (lx[i] - mx); sxy += (lx[i] - mx) * (ly[i] - my) }
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        let b = min(slope, -1e-3)
        return [exp(my - b * mx), b, c]
    }
}

/// One held-out point of a μScaling backtest (kept by studies).
public struct BacktestPoint: Codable, Sendable, Equatable {
    public var parameters: Double
    public var actual: Double
    public var predicted: Double
    /// (predicted − actual) / actual.
    public var relativeError: Double
}

/// Fits on all but the `holdOutLargest` largest sizes and predicts those.
public func backtestMuScaling(parameters: [Double], losses: [Double], sigma: [Double]? = nil, holdOutLargest k: Int) throws -> [BacktestPoint] {
    try backtest(count: parameters.count, holdOutLargest: k, size: { parameters[$0] }, minimumPoints: 4, law: "μScaling",
                 fit: { idx in try fitMuScaling(parameters: idx.map { parameters[$0] }, losses: idx.map { losses[$0] }, sigma: sigma.map { s in idx.map { s[$0] } }) },
                 predict: { fit, i in fit.loss(at: parameters[i]) }, actual: { losses[$0] })
        .map { BacktestPoint(parameters: parameters[$0.index], actual: $0.actual, predicted: $0.predicted, relativeError: $0.relativeError) }
}

/// A bootstrap interval of the prediction at each of `targets`: points resampled with replacement (seeded),
/// refitted; percentiles. Quantities: the coefficients (a, b, c), then the predictions.
public func bootstrapMuScaling(parameters: [Double], losses: [Double], sigma: [Double]? = nil, at targets: [Double],
                               resamples: Int = 1000, level: Double = 0.95, seed: UInt64 = 0) -> BootstrapSummary {
    bootstrap(count: parameters.count, resamples: resamples, level: level, seed: seed, minimumDistinct: 4,
              fit: { idx in try fitMuScaling(parameters: idx.map { parameters[$0] }, losses: idx.map { losses[$0] }, sigma: sigma.map { s in idx.map { s[$0] } }) },
              quantities: { fit in fit.coefficients + targets.map { fit.loss(at: $0) } })
}
