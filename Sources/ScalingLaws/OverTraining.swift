import Foundation

/// Gadre et al. (2024): loss of a model over-trained by a token multiplier M = D/N,
/// L(C, M) = E + (a·M^η + b·M^−η)·C^−η with C = 6·N·D.
public struct OverTrainingFit: LeastSquaresLaw, Codable, Sendable, Equatable {
    public var E: Double
    public var a: Double
    public var b: Double
    public var eta: Double
    /// curve_fit's pcov of (E, a, b, η), C in FLOPs (6ND).
    public var covariance: [[Double]]
    /// sqrt(SSE / (n − 4)); the fit with the smallest wins among the starts.
    public var residualStandardError: Double
    /// sqrt(SSE / n).
    public var rmse: Double
    public var n: Int

    public func loss(parameters n: Double, tokens d: Double) -> Double { value(at: (n, d)) }

    public var coefficients: [Double] { [E, a, b, eta] }
    public func value(at x: (parameters: Double, tokens: Double)) -> Double {
        let c = 6 * x.parameters * x.tokens, m = x.tokens / x.parameters
        return E + (a * pow(m, eta) + b * pow(m, -eta)) * pow(c, -eta)
    }
    /// ∂L/∂(E, a, b, η) = (1, M^η·C^−η, M^−η·C^−η, ((a·M^η − b·M^−η)·ln M − (a·M^η + b·M^−η)·ln C)·C^−η).
    public func gradient(at x: (parameters: Double, tokens: Double)) -> [Double] {
        let c = 6 * x.parameters * x.tokens, m = x.tokens / x.parameters
        let ce = pow(c, -eta), mp = pow(m, eta)
        return [1, mp * ce, ce / mp, ((a * mp - b / mp) * log(m) - (a * mp + b / mp) * log(c)) * ce]
    }
}

/// Least squares from a grid of starts: for each η and E on a grid, a and b solve a linear least-squares
/// problem exactly; Levenberg–Marquardt refines all four; the smallest residual standard error wins.
/// C is scaled by its geometric mean inside the fit and the coefficients mapped back to raw units.
public func fitOverTraining(parameters: [Double], tokens: [Double], losses: [Double]) throws -> OverTrainingFit {
    let law = "over-training L = E + (a·M^η + b·M^−η)·C^−η"
    try checkColumns(law: law, minimumPoints: 5, [("N", parameters), ("D", tokens), ("loss", losses)])
    let c = zip(parameters, tokens).map { 6 * $0 * $1 }, m = zip(tokens, parameters).map { $0 / $1 }
    let scale = exp(c.map { log($0) }.reduce(0, +) / Double(c.count))
    let x = c.map { $0 / scale }
    let n = losses.count
    // θ = (E, a', b', η) with a' = a·scale^−η, b' = b·scale^−η.
    let problem = LeastSquaresProblem(
        residuals: { (t: [Double]) -> [Double] in
            (0..<n).map { i in
                let xe: Double = pow(x[i], -t[3]), mp: Double = pow(m[i], t[3])
                return t[0] + (t[1] * mp + t[2] / mp) * xe - losses[i]
            }
        },
        jacobian: { (t: [Double]) -> [[Double]] in
            (0..<n).map { i in
                let xe: Double = pow(x[i], -t[3]), mp: Double = pow(m[i], t[3])
                let inner = t[1] * mp + t[2] / mp
                let dInner = (t[1] * mp - t[2] / mp) * log(m[i])
                return [1, mp * xe, xe / mp, dInner * xe - inner * xe * log(x[i])]
            }
        })
    let lo = losses.min()!
    var best: LeastSquaresResult? = nil
    for eta in [0.02, 0.05, 0.1, 0.2, 0.3, 0.5] {
        for e in [0.0, 0.5 * lo, 0.8 * lo, 0.9 * lo, 0.95 * lo] {
            // a', b' by linear least squares on L − E = a'·(M^η x^−η) + b'·(M^−η x^−η)
            let rows = (0..<n).map { i -> [Double] in let xe = pow(x[i], -eta); return [pow(m[i], eta) * xe, pow(m[i], -eta) * xe] }
            guard let ab = Matrix.solve(Matrix.gram(rows), Matrix.transposeTimes(rows, losses.map { $0 - e })) else { continue }
            let r = levenbergMarquardt(problem, start: [e, ab[0], ab[1], eta], tolerance: 1e-12)
            let usable = r.sumOfSquares.isFinite && r.parameters[3] > 0 && r.covariance != nil
            if usable && r.sumOfSquares < (best?.sumOfSquares ?? .infinity) { best = r }
        }
    }
    guard let fit = best, let scaledCovariance = fit.covariance else {
        throw ScalingLawError.degenerate(law: law, reason: "no start reached a fit with η > 0 and a finite covariance")
    }
    let (e, ap, bp, eta) = (fit.parameters[0], fit.parameters[1], fit.parameters[2], fit.parameters[3])
    // Back to raw C: a = a'·scale^η, b = b'·scale^η; the covariance through that map's Jacobian.
    let s = pow(scale, eta), ls = log(scale)
    let a = ap * s, b = bp * s
    let covariance = Matrix.congruence([[1, 0, 0, 0], [0, s, 0, a * ls], [0, 0, s, b * ls], [0, 0, 0, 1]], scaledCovariance)
    return OverTrainingFit(E: e, a: a, b: b, eta: eta, covariance: covariance,
                           residualStandardError: (fit.sumOfSquares / Double(n - 4)).squareRoot(),
                           rmse: (fit.sumOfSquares / Double(n)).squareRoot(), n: n)
}


/// Fits without the `k` points of largest compute C = 6ND and predicts those.
public func backtestOverTraining(parameters: [Double], tokens: [Double], losses: [Double], holdOutLargest k: Int) throws -> [HeldOutPoint] {
    try backtest(count: losses.count, holdOutLargest: k, size: { 6 * parameters[$0] * tokens[$0] }, minimumPoints: 5, law: "over-training",
                 fit: { idx in try fitOverTraining(parameters: idx.map { parameters[$0] }, tokens: idx.map { tokens[$0] }, losses: idx.map { losses[$0] }) },
                 predict: { fit, i in fit.loss(parameters: parameters[i], tokens: tokens[i]) }, actual: { losses[$0] })
}

/// Bootstrap of the coefficients (E, a, b, η) and of the loss at each (N, D) of `targets`.
public func bootstrapOverTraining(parameters: [Double], tokens: [Double], losses: [Double], at targets: [(Double, Double)],
                                  resamples: Int = 1000, level: Double = 0.95, seed: UInt64 = 0) -> BootstrapSummary {
    bootstrap(count: losses.count, resamples: resamples, level: level, seed: seed, minimumDistinct: 5,
              fit: { idx in try fitOverTraining(parameters: idx.map { parameters[$0] }, tokens: idx.map { tokens[$0] }, losses: idx.map { losses[$0] }) },
              quantities: { fit in fit.coefficients + targets.map { fit.loss(parameters: $0.0, tokens: $0.1) } })
}
