import Foundation

/// Gadre et al. (2024): loss of a model over-trained by a token multiplier M = D/N,
/// L(C, M) = E + (a·M^η + b·M^−η)·C^−η with C = 6·N·D.
public struct OverTrainingFit: Codable, Sendable, Equatable {
    public var E: Double
    public var a: Double
    public var b: Double
    public var eta: Double
    /// sqrt(SSE / (n − 4)); the fit with the smallest wins among the starts.
    public var residualStandardError: Double
    public var n: Int

    public func loss(parameters n: Double, tokens d: Double) -> Double {
        let c = 6 * n * d, m = d / n
        return E + (a * pow(m, eta) + b * pow(m, -eta)) * pow(c, -eta)
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
            let r = levenbergMarquardt(problem, start: [e, ab[0], ab[1], eta])
            if r.sumOfSquares.isFinite && r.parameters[3] > 0 && r.sumOfSquares < (best?.sumOfSquares ?? .infinity) { best = r }
        }
    }
    guard let fit = best else { throw ScalingLawError.degenerate(law: law, reason: "no start reached a finite fit with η > 0") }
    let (e, ap, bp, eta) = (fit.parameters[0], fit.parameters[1], fit.parameters[2], fit.parameters[3])
    let s = pow(scale, eta)
    return OverTrainingFit(E: e, a: ap * s, b: bp * s, eta: eta,
                           residualStandardError: (fit.sumOfSquares / Double(max(n - 4, 1))).squareRoot(), n: n)
}

/// Downstream: average top-1 error as a function of loss, Err(L) = ε − k·exp(−γ·L) (Gadre et al. 2024).
public struct DownstreamFit: Codable, Sendable, Equatable {
    public var epsilon: Double
    public var k: Double
    public var gamma: Double
    public var n: Int
    public var rmse: Double
    public func error(atLoss l: Double) -> Double { epsilon - k * exp(-gamma * l) }
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
        let r = levenbergMarquardt(problem, start: [ek[0], ek[1], gamma])
        if r.sumOfSquares.isFinite && r.parameters[2] > 0 && r.sumOfSquares < (best?.sumOfSquares ?? .infinity) { best = r }
    }
    guard let fit = best else { throw ScalingLawError.degenerate(law: law, reason: "no start reached a finite fit with γ > 0") }
    return DownstreamFit(epsilon: fit.parameters[0], k: fit.parameters[1], gamma: fit.parameters[2], n: n,
                         rmse: (fit.sumOfSquares / Double(n)).squareRoot())
}
