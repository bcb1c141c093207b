import Foundation

/// Downstream: average top-1 error as a function of loss, Err(L) = ε − k·exp(−γ·L) (Gadre et al. 2024).
public struct DownstreamFit: LeastSquaresLaw, Codable, Sendable, Equatable {
    public var epsilon: Double
    public var k: Double
    public var gamma: Double
    /// curve_fit's pcov of (ε, k, γ).
    public var covariance: [[Double]]
    public var n: Int
    public var rmse: Double
    public func error(atLoss l: Double) -> Double { epsilon - k * exp(-gamma * l) }

    public var coefficients: [Double] { [epsilon, k, gamma] }
    public func value(at loss: Double) -> Double { error(atLoss: loss) }
    /// ∂Err/∂(ε, k, γ) = (1, −e^(−γL), k·L·e^(−γL)).
    public func gradient(at loss: Double) -> [Double] {
        let e = exp(-gamma * loss)
        return [1, -e, k * loss * e]
    }
}

/// Least squares for Err(L) = ε − k·exp(−γ·L): for γ on a grid, ε and k are linear; LM refines all three.
public func fitDownstream(losses: [Double], errors: [Double]) throws -> DownstreamFit {
    let law = "downstream Err = ε − k·exp(−γ·L)"
    guard losses.count == errors.count else { throw ScalingLawError.degenerate(law: law, reason: "columns of different lengths") }
    guard losses.count >= 4 else { throw ScalingLawError.tooFewPoints(law: law, needed: 4, got: losses.count) }
    for (i, v) in losses.enumerated() where !(v.isFinite && v > 0) { throw ScalingLawError.invalidValue(what: "loss", index: i, value: v) }
    for (i, v) in errors.enumerated() where !(v.isFinite && v >= 0) { throw ScalingLawError.invalidValue(what: "err", index: i, value: v) }
    let n = losses.count
    let problem = LeastSquaresProblem(
        residuals: { (t: [Double]) -> [Double] in (0..<n).map { i in t[0] - t[1] * exp(-t[2] * losses[i]) - errors[i] } },
        jacobian: { (t: [Double]) -> [[Double]] in
            (0..<n).map { i in let e: Double = exp(-t[2] * losses[i]); return [1, -e, t[1] * losses[i] * e] }
        })
    var best: LeastSquaresResult? = nil
    for gamma in [0.1, 0.3, 0.5, 1, 2, 4, 8] {
        let rows = losses.map { [1.0, -exp(-gamma * $0)] }
        guard let ek = Matrix.solve(Matrix.gram(rows), Matrix.transposeTimes(rows, errors)) else { continue }
        let r = levenbergMarquardt(problem, start: [ek[0], ek[1], gamma], tolerance: 1e-12)
        let usable = r.sumOfSquares.isFinite && r.parameters[2] > 0 && r.covariance != nil
        if usable && r.sumOfSquares < (best?.sumOfSquares ?? .infinity) { best = r }
    }
    guard let fit = best, let covariance = fit.covariance else {
        throw ScalingLawError.degenerate(law: law, reason: "no start reached a fit with γ > 0 and a finite covariance")
    }
    return DownstreamFit(epsilon: fit.parameters[0], k: fit.parameters[1], gamma: fit.parameters[2], covariance: covariance, n: n,
                         rmse: (fit.sumOfSquares / Double(n)).squareRoot())
}

/// Backtest of the downstream law. "Largest" means the best models: the `k` points of *lowest* loss are held
/// out, fitted without, and their error predicted — the extrapolation the law is used for.
public func backtestDownstream(losses: [Double], errors: [Double], holdOutLargest k: Int) throws -> [HeldOutPoint] {
    try backtest(count: losses.count, holdOutLargest: k, size: { -losses[$0] }, minimumPoints: 4, law: "downstream",
                 fit: { idx in try fitDownstream(losses: idx.map { losses[$0] }, errors: idx.map { errors[$0] }) },
                 predict: { fit, i in fit.error(atLoss: losses[i]) }, actual: { errors[$0] })
}

/// Bootstrap of the coefficients (ε, k, γ) and of the error at each loss of `targets`.
public func bootstrapDownstream(losses: [Double], errors: [Double], at targets: [Double], resamples: Int = 1000,
                                level: Double = 0.95, seed: UInt64 = 0) -> BootstrapSummary {
    bootstrap(count: losses.count, resamples: resamples, level: level, seed: seed, minimumDistinct: 4,
              fit: { idx in try fitDownstream(losses: idx.map { losses[$0] }, errors: idx.map { errors[$0] }) },
              quantities: { fit in fit.coefficients + targets.map { fit.error(atLoss: $0) } })
}
