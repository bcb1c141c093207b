import Foundation

/// μScaling's law L(C) = a·C^b + c (paper §3.1), fitted to proxies' losses against parameter count C.
/// Coefficients are in raw parameters; `a(perUnit: 1e9)` gives the paper's a with C in billions.
///
/// c is bounded below by 0. When the best fit has c on that bound, c is not estimated: the law fitted is
/// a·C^b, `cAtBound` is true, c has no standard deviation (its row and column of `covariance` are zero) and
/// the interval's t has n − 2 degrees of freedom (docs/DESIGN.md, "Bounds and intervals").
public struct MuScalingFit: LeastSquaresLaw, Codable, Sendable, Equatable {
    public var a: Double
    public var b: Double
    public var c: Double
    /// c ended on its bound 0 and is fixed there: the law fitted is a·C^b.
    public var cAtBound: Bool
    /// Standard deviations of (a, b, c): sqrt(diag(pcov)), as `curve_fit` with absolute_sigma=False; c's is
    /// 0 when c is at its bound (it is not estimated; print `standardDeviation(of:)`, which says nil).
    public var standardDeviations: [Double]
    /// Covariance of (a, b, c), C in raw parameters; c's row and column are zero when c is at its bound.
    public var covariance: [[Double]]
    /// Number of points fitted.
    public var n: Int
    /// Root-mean-square residual of the fitted points.
    public var rmse: Double
    /// The sizes and losses fitted (kept for reports and bootstrap).
    public var parameters: [Double]
    public var losses: [Double]
    /// The losses' standard deviations the fit weighted by (curve_fit's `sigma`), and how they scale the
    /// covariance; nil for an unweighted fit. Kept so that the bootstrap of a saved fit weights as the fit did.
    public var sigma: [Double]?
    public var sigmaScale: SigmaScale?
    /// With `.pooled`: the degrees of freedom of the seeds' scatter the sigma were measured from.
    public var seedDegreesOfFreedom: Int?

    public init(a: Double, b: Double, c: Double, cAtBound: Bool = false, standardDeviations: [Double], covariance: [[Double]],
                n: Int, rmse: Double, parameters: [Double], losses: [Double], sigma: [Double]? = nil, sigmaScale: SigmaScale? = nil,
                seedDegreesOfFreedom: Int? = nil) {
        (self.a, self.b, self.c, self.cAtBound) = (a, b, c, cAtBound)
        (self.standardDeviations, self.covariance, self.n, self.rmse) = (standardDeviations, covariance, n, rmse)
        (self.parameters, self.losses, self.sigma, self.sigmaScale) = (parameters, losses, sigma, sigma == nil ? nil : sigmaScale)
        self.seedDegreesOfFreedom = sigma != nil && sigmaScale == .pooled ? seedDegreesOfFreedom : nil
    }

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

    /// The standard deviation of coefficient `index` (0 a, 1 b, 2 c); nil for c at its bound (fixed, not estimated).
    public func standardDeviation(of index: Int) -> Double? { index == 2 && cAtBound ? nil : standardDeviations[index] }

    /// What was fitted, in words: "a·C^b + c", or "a·C^b (c at its bound 0)".
    public var form: String { cAtBound ? "a·C^b (c at its bound 0)" : "a·C^b + c" }

    public var coefficients: [Double] { [a, b, c] }
    public var freeCoefficientCount: Int { cAtBound ? 2 : 3 }
    public var degreesOfFreedom: Int { scale.degreesOfFreedom }

    /// χ², the sum of squared residuals in units of sigma (of plain residuals when unweighted).
    public var chiSquare: Double {
        parameters.indices.reduce(0) { sum, i in
            let r = (losses[i] - loss(at: parameters[i])) / (sigma?[i] ?? 1)
            return sum + r * r
        }
    }

    /// How the covariance was scaled from inv(JᵀWJ), on how many degrees of freedom (``SigmaScale``).
    public var scale: VarianceScale {
        VarianceScale(chiSquare: chiSquare, residualDegreesOfFreedom: max(n - freeCoefficientCount, 1),
                      sigmaScale: sigma == nil ? .relative : sigmaScale ?? .relative, seedDegreesOfFreedom: seedDegreesOfFreedom ?? 0)
    }

    /// The variance of one more point's loss at `parameters` that had a sigma of `sigma` (the fit's scale times
    /// sigma²; unweighted, `sigma` 1: the residual variance SSE/(n − p)). For a study, a target run's scatter.
    public func measurementVariance(sigma: Double) -> Double { scale.factor * sigma * sigma }
    public func value(at parameters: Double) -> Double { loss(at: parameters) }
    /// ∂L/∂(a, b, c) = (C^b, a·C^b·ln C, 1).
    public func gradient(at parameters: Double) -> [Double] {
        let pb = pow(parameters, b)
        return [pb, a * pb * log(parameters), 1]
    }

    /// Why the interval at a point is not a range of losses, or nil: a loss is positive, so an interval that
    /// reaches below 0 says the points do not determine the loss there (issue 16: −4.9 was printed as is).
    public static func caveat(lower: Double, upper: Double) -> String? {
        lower > 0 && upper.isFinite ? nil
            : String(format: "the interval reaches %.4g, below 0: the points do not determine the loss there (add proxies nearer the target, or reduce noise)", lower)
    }
}

/// How a weighted fit's `sigma` sets the covariance of its coefficients.
public enum SigmaScale: String, Codable, Sendable, Equatable {
    /// For sigma that are standard errors s/√k of means over seeds, s pooled from the seeds' scatter on d
    /// degrees of freedom: the seeds' scatter (pure error, d) and the means' scatter about the law (lack of
    /// fit, χ² on n − p) estimate the same noise, so they are pooled — inv(JᵀWJ)·(χ² + d)/(n − p + d), t on
    /// n − p + d — which is curve_fit's default on every seed's loss as its own point. Unless the means
    /// scatter more than the seeds explain (the lack-of-fit F test, χ²/(n − p) against F(n − p, d), at 5%):
    /// then the law does not fit within the noise and the residuals alone set the scale, as `.relative`.
    /// docs/DESIGN.md, "Seeds".
    case pooled
    /// curve_fit's `absolute_sigma=False`: sigma are relative weights and the residuals set the scale,
    /// inv(JᵀWJ)·χ²/(n − p), χ² the weighted sum of squares.
    case relative
    /// inv(JᵀWJ)·max(1, χ²/(n − p)): never narrower than the sigma say (curve_fit's `absolute_sigma=True`),
    /// and as wide as `.relative` when the points scatter about the law more than the sigma explain (the
    /// Particle Data Group's scale factor). For sigma that are measured noise, such as the standard errors
    /// of means over seeds (docs/DESIGN.md, "Seeds").
    case atLeastAbsolute
}

/// The factor a weighted fit's inv(JᵀWJ) is scaled by, and the t interval's degrees of freedom.
public struct VarianceScale: Sendable, Equatable {
    public var factor: Double
    public var degreesOfFreedom: Int
    /// `.pooled` only: the lack-of-fit F test's p-value, and whether the seeds' scatter was pooled (p ≥ 0.05).
    public var lackOfFitProbability: Double?
    public var pooledSeeds: Bool

    public init(chiSquare: Double, residualDegreesOfFreedom m: Int, sigmaScale: SigmaScale, seedDegreesOfFreedom d: Int) {
        let reduced = chiSquare / Double(m)
        (factor, degreesOfFreedom, lackOfFitProbability, pooledSeeds) = (reduced, m, nil, false)
        switch sigmaScale {
        case .relative: break
        case .atLeastAbsolute: factor = max(1, reduced)
        case .pooled where d > 0:
            let p = 1 - Distributions.fisherCDF(reduced, dof1: Double(m), dof2: Double(d))
            lackOfFitProbability = p
            if p >= 0.05 { (factor, degreesOfFreedom, pooledSeeds) = ((chiSquare + Double(d)) / Double(m + d), m + d, true) }
        case .pooled: break
        }
    }
}

extension MuScalingFit {
    enum CodingKeys: String, CodingKey {
        case a, b, c, cAtBound, standardDeviations, covariance, n, rmse, parameters, losses, sigma, sigmaScale, seedDegreesOfFreedom
    }

    /// Decodes a saved fit (`nanolm fit --save`, a study's result.json) and checks its shapes, so that a damaged
    /// or hand-edited file is an error naming the field, never an index out of range later (issue 20).
    /// Files saved before `cAtBound` existed read as c free.
    public init(from decoder: Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        func finite(_ key: CodingKeys) throws -> Double {
            let v = try k.decode(Double.self, forKey: key)
            guard v.isFinite else { throw DecodingError.dataCorruptedError(forKey: key, in: k, debugDescription: "\(v) is not a finite number") }
            return v
        }
        func check(_ ok: Bool, _ key: CodingKeys, _ what: String) throws {
            if !ok { throw DecodingError.dataCorruptedError(forKey: key, in: k, debugDescription: what) }
        }
        a = try finite(.a); b = try finite(.b); c = try finite(.c)
        cAtBound = try k.decodeIfPresent(Bool.self, forKey: .cAtBound) ?? false
        standardDeviations = try k.decode([Double].self, forKey: .standardDeviations)
        covariance = try k.decode([[Double]].self, forKey: .covariance)
        n = try k.decode(Int.self, forKey: .n)
        rmse = try k.decode(Double.self, forKey: .rmse)
        parameters = try k.decode([Double].self, forKey: .parameters)
        losses = try k.decode([Double].self, forKey: .losses)
        try check(standardDeviations.count == 3 && standardDeviations.allSatisfy { $0.isFinite && $0 >= 0 }, .standardDeviations,
                  "expected 3 finite non-negative numbers (a, b, c), got \(standardDeviations.count) values")
        try check(covariance.count == 3 && covariance.allSatisfy { $0.count == 3 && $0.allSatisfy(\.isFinite) }, .covariance,
                  "expected a 3×3 matrix of finite numbers, got \(covariance.count) rows of \(covariance.map(\.count))")
        try check(n >= 1 && n <= 1_000_000, .n, "expected a point count between 1 and 10⁶, got \(n)")
        try check(rmse.isFinite && rmse >= 0, .rmse, "\(rmse) is not a finite non-negative number")
        try check(parameters.count == n && parameters.allSatisfy { $0.isFinite && $0 > 0 }, .parameters,
                  "expected n = \(n) finite positive sizes, got \(parameters.count)")
        try check(losses.count == n && losses.allSatisfy { $0.isFinite && $0 > 0 }, .losses, "expected n = \(n) finite positive losses, got \(losses.count)")
        sigma = try k.decodeIfPresent([Double].self, forKey: .sigma)
        try check(sigma.map { $0.count == n && $0.allSatisfy { $0.isFinite && $0 > 0 } } ?? true, .sigma,
                  "expected n = \(n) finite positive standard deviations, got \(sigma?.count ?? 0)")
        sigmaScale = sigma == nil ? nil : try k.decodeIfPresent(SigmaScale.self, forKey: .sigmaScale) ?? .relative
        seedDegreesOfFreedom = sigmaScale == .pooled ? try k.decodeIfPresent(Int.self, forKey: .seedDegreesOfFreedom) : nil
        try check((0...1_000_000).contains(seedDegreesOfFreedom ?? 0), .seedDegreesOfFreedom,
                  "expected degrees of freedom between 0 and 10⁶, got \(seedDegreesOfFreedom ?? 0)")
    }
}

/// Fits L(C) = a·C^b + c by least squares, c ≥ 0.
///
/// Robust where `curve_fit` with a default p0 is not (issue: b ≈ 1e-4 or b ≈ 55 on the paper's data): C is
/// scaled by its geometric mean inside the fit; starting points come from the data (for a grid of c below
/// the smallest loss, a and b from the line through log(L − c) against log C); every start is refined by
/// Levenberg–Marquardt with c ≥ 0, and so is the reduced law a·C^b (c fixed at 0); the lowest sum of squares
/// with b < 0 wins. That is the constrained optimum either way: inside the box (c > 0, zero gradient) or on
/// its face (c = 0, the reduced law's optimum). A fit that is still degenerate, or absurd, throws.
///
/// - Parameters:
///   - parameters: parameter counts C (raw, embeddings included), finite and positive.
///   - losses: the proxies' losses, finite and positive.
///   - sigma: optional per-point standard deviations (curve_fit's `sigma`): residuals are divided by them.
///   - sigmaScale: how sigma scale the covariance (default curve_fit's `absolute_sigma=False`).
///   - seedDegreesOfFreedom: with `.pooled`, the degrees of freedom of the seeds' scatter behind sigma.
public func fitMuScaling(parameters: [Double], losses: [Double], sigma: [Double]? = nil,
                         sigmaScale: SigmaScale = .relative, seedDegreesOfFreedom: Int? = nil) throws -> MuScalingFit {
    try fitMuScaling(parameters: parameters, losses: losses, sigma: sigma, sigmaScale: sigmaScale, seedDegreesOfFreedom: seedDegreesOfFreedom, near: nil)
}

/// The fit, from every data start, or (`near`, for bootstrap refits) from `near`'s optimum and the c = 0
/// line only: a resample's optimum lies next to the full data's, and 4 runs instead of ~20 keep 1,000
/// refits quick.
func fitMuScaling(parameters: [Double], losses: [Double], sigma: [Double]?, sigmaScale: SigmaScale = .relative,
                  seedDegreesOfFreedom: Int? = nil, near: MuScalingFit?) throws -> MuScalingFit {
    let law = "μScaling L = a·C^b + c"
    guard parameters.count == losses.count else {
        throw ScalingLawError.degenerate(law: law, reason: "\(parameters.count) sizes but \(losses.count) losses")
    }
    guard parameters.count >= 4 else { throw ScalingLawError.tooFewPoints(law: law, needed: 4, got: parameters.count) }
    for (i, v) in parameters.enumerated() where !(v.isFinite && v > 0) { throw ScalingLawError.invalidValue(what: "size", index: i, value: v) }
    for (i, v) in losses.enumerated() where !(v.isFinite && v > 0) { throw ScalingLawError.invalidValue(what: "loss", index: i, value: v) }
    let weights = sigma ?? [Double](repeating: 1, count: losses.count)
    guard weights.count == losses.count else { throw ScalingLawError.degenerate(law: law, reason: "\(weights.count) sigmas for \(losses.count) losses") }
    for (i, v) in weights.enumerated() where !(v.isFinite && v > 0) { throw ScalingLawError.invalidValue(what: "sigma", index: i, value: v) }
    guard Set(parameters).count >= 3 else {
        throw ScalingLawError.degenerate(law: law, reason: "only \(Set(parameters).count) distinct sizes; the law needs at least 3")
    }
    // Losses that do not fall with size have no decreasing power law: the optimum would be a spike through the
    // smallest point (b ≈ −11, a ≈ 4e80 in issue 16), returned silently before.
    let trend = logSlope(parameters, losses)
    guard trend < 0 else {
        throw ScalingLawError.degenerate(law: law, reason: String(format: "the losses do not fall with size (least-squares slope of loss against ln C is %+.3g)", trend))
    }

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
    var starts = muScalingStarts(x: x, losses: losses)
    if let near {  // α = a·s^b in this resample's scaled sizes
        starts = [[near.a * pow(s, near.b), near.b, near.c]] + starts.filter { $0[2] == 0 }
    }
    // c ≥ 0: a loss has a non-negative floor. Without it, nearly log-linear data drives the fit to
    // b → 0⁻ with a and c huge and opposite (a·C^b + c ≈ a + c + a·b·ln C), which extrapolates nothing.
    // The reduced law (c fixed at 0: lower = upper) runs from the starts with c ≤ 0 as well.
    let runs = starts.map { (start: $0, upper: [Double.infinity, .infinity, .infinity]) }
        + starts.filter { $0[2] <= 0 || near != nil }.map { (start: [$0[0], $0[1], 0], upper: [Double.infinity, .infinity, 0]) }
    for run in runs {
        let r = levenbergMarquardt(problem, start: run.start, lower: [0, -.infinity, 0], upper: run.upper)
        let usable = r.sumOfSquares.isFinite && r.parameters[1] <= -1e-3 && r.parameters[0] > 0 && r.covariance != nil
        if usable && r.sumOfSquares < (best?.sumOfSquares ?? .infinity) * (1 - 1e-12) { best = r }
    }
    guard let fit = best, var scaledCovariance = fit.covariance else {
        throw ScalingLawError.degenerate(law: law, reason: "no start reached a decreasing power law (b ≤ −0.001, c ≥ 0) with a finite covariance")
    }
    if sigma != nil && sigmaScale != .relative {  // inv(JᵀWJ)·factor, factor = (χ² on the sigma's scale)/(n − p)
        let dof = losses.count - fit.freeCount
        let scale = VarianceScale(chiSquare: fit.sumOfSquares, residualDegreesOfFreedom: dof, sigmaScale: sigmaScale,
                                  seedDegreesOfFreedom: seedDegreesOfFreedom ?? 0)
        guard let scaled = freeCovariance(problem.jacobian(fit.parameters), sse: scale.factor * Double(dof), free: fit.atBound.map { !$0 }) else {
            throw ScalingLawError.degenerate(law: law, reason: "the covariance with absolute sigma is singular")
        }
        scaledCovariance = scaled
    }
    let (alpha, b, c) = (fit.parameters[0], fit.parameters[1], fit.parameters[2])
    // Steeper than C^−5 no loss curve is: such a law fits the smallest point alone.
    guard b >= -5 else {
        throw ScalingLawError.degenerate(law: law, reason: String(format: "b = %.3g is steeper than any loss curve (b < −5): the law fits the smallest point alone", b))
    }
    // Back to raw parameters: a = α·s^(−b). Covariance through the Jacobian of (α, b, c) → (a, b, c).
    let sb: Double = pow(s, -b)
    let a = alpha * sb
    let covariance = Matrix.congruence([[sb, -a * log(s), 0], [0, 1, 0], [0, 0, 1]], scaledCovariance)
    var sse = 0.0
    for (p, l) in zip(parameters, losses) { let d: Double = a * pow(p, b) + c - l; sse += d * d }
    let rmse = (sse / Double(losses.count)).squareRoot()
    guard a.isFinite, covariance.joined().allSatisfy(\.isFinite) else {
        throw ScalingLawError.degenerate(law: law, reason: "b = \(b) with a non-finite a or covariance")
    }
    return MuScalingFit(a: a, b: b, c: c, cAtBound: fit.atBound[2], standardDeviations: (0..<3).map { max(covariance[$0][$0], 0).squareRoot() },
                        covariance: covariance, n: losses.count, rmse: rmse, parameters: parameters, losses: losses,
                        sigma: sigma, sigmaScale: sigmaScale, seedDegreesOfFreedom: seedDegreesOfFreedom)
}

/// The least-squares slope of y against ln x.
func logSlope(_ x: [Double], _ y: [Double]) -> Double {
    let lx = x.map { log($0) }
    let mx = lx.reduce(0, +) / Double(lx.count), my = y.reduce(0, +) / Double(y.count)
    var sxx = 0.0, sxy = 0.0
    for i in lx.indices { sxx += (lx[i] - mx) * (lx[i] - mx); sxy += (lx[i] - mx) * (y[i] - my) }
    return sxx > 0 ? sxy / sxx : 0
}

/// Starting points (α, b, c) for scaled sizes: for a grid of asymptotes c below the smallest loss, the least-
/// squares line through (log x, log(L − c)) gives b and log α.
func muScalingStarts(x: [Double], losses: [Double]) -> [[Double]] {
    let lo = losses.min()!, hi = losses.max()!
    let span = max(hi - lo, 1e-6 * lo)
    var cs: [Double] = [0]
    for f in [0.5, 0.8, 0.9, 0.95, 0.98] { cs.append(lo * f) }
    for f in [2.0, 1.0, 0.5, 0.2, 0.1, 0.05, 0.01] { cs.append(lo - f * span) }
    return cs.filter { $0 < lo }.compactMap { c in
        let slope = logSlope(x, losses.map { log($0 - c) })
        guard slope != 0 else { return nil }
        let b = min(slope, -1e-3)
        let lx = x.map { log($0) }, ly = losses.map { log($0 - c) }
        let mx = lx.reduce(0, +) / Double(lx.count), my = ly.reduce(0, +) / Double(ly.count)
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

/// Fits on all but the `holdOutLargest` largest sizes and predicts those. Works whether or not the fit on
/// all points does (issue 16: a degenerate full fit must not hide a backtest of the kept points).
public func backtestMuScaling(parameters: [Double], losses: [Double], sigma: [Double]? = nil, holdOutLargest k: Int) throws -> [BacktestPoint] {
    try backtest(count: parameters.count, holdOutLargest: k, size: { parameters[$0] }, minimumPoints: 4, law: "μScaling",
                 fit: { idx in try fitMuScaling(parameters: idx.map { parameters[$0] }, losses: idx.map { losses[$0] }, sigma: sigma.map { s in idx.map { s[$0] } }) },
                 predict: { fit, i in fit.loss(at: parameters[i]) }, actual: { losses[$0] })
        .map { BacktestPoint(parameters: parameters[$0.index], actual: $0.actual, predicted: $0.predicted, relativeError: $0.relativeError) }
}

/// A bootstrap interval of the prediction at each of `targets`, refitted on seeded resamples; percentiles,
/// with resamples whose refit fails counted against the interval (`bootstrap`). Quantities: the coefficients
/// (a, b, c), then the predictions.
///
/// `.residuals` (the default) keeps the sizes and adds to the fitted curve the fit's residuals drawn with
/// replacement, rescaled by √(n/(n − p)) for the degrees of freedom the fit used: proxies are a design, not a
/// sample of sizes, and every resample has all its sizes, so it refits even with 4 points. `.pairs` resamples
/// (size, loss) points; with 4 points only 24 of 256 draws have 4 distinct sizes, so it is mostly unavailable.
///
/// With a weighted fit the standardized residuals are rescaled to the mean square its covariance used
/// (``VarianceScale``): with `.atLeastAbsolute` at least 1, with `.pooled` the seeds' and the means' scatter
/// pooled — the bootstrap's counterpart of the covariance's scale.
public func bootstrapMuScaling(parameters: [Double], losses: [Double], sigma: [Double]? = nil, sigmaScale: SigmaScale = .relative,
                               seedDegreesOfFreedom: Int? = nil, at targets: [Double], resamples: Int = 1000, level: Double = 0.95,
                               seed: UInt64 = 0, method: BootstrapMethod = .residuals) -> BootstrapSummary {
    let quantities = { (fit: MuScalingFit) in fit.coefficients + targets.map { fit.loss(at: $0) } }
    guard let full = try? fitMuScaling(parameters: parameters, losses: losses, sigma: sigma, sigmaScale: sigmaScale,
                                       seedDegreesOfFreedom: seedDegreesOfFreedom) else {
        return .unavailable(resamples: resamples, reason: "the fit on all points failed")
    }
    switch method {
    case .pairs:
        return bootstrap(count: parameters.count, resamples: resamples, level: level, seed: seed, minimumDistinct: 4,
                         fit: { idx in
                             try fitMuScaling(parameters: idx.map { parameters[$0] }, losses: idx.map { losses[$0] }, sigma: sigma.map { s in idx.map { s[$0] } }, near: full)
                         },
                         quantities: quantities)
    case .residuals:
        let w = sigma ?? [Double](repeating: 1, count: losses.count)
        let fitted = parameters.map(full.loss(at:))
        let dof = Double(max(losses.count - full.freeCoefficientCount, 1))
        let standardized = losses.indices.map { (losses[$0] - fitted[$0]) / w[$0] }
        let reducedChiSquare = standardized.map { $0 * $0 }.reduce(0, +) / dof
        // The mean square the covariance used, from these residuals (``VarianceScale``): 1× for `.relative`.
        let target = VarianceScale(chiSquare: reducedChiSquare * dof, residualDegreesOfFreedom: Int(dof), sigmaScale: sigmaScale,
                                   seedDegreesOfFreedom: full.seedDegreesOfFreedom ?? 0)
        let rescale = sigma == nil ? 1 : (target.factor / max(reducedChiSquare, 1e-300)).squareRoot()
        let inflation = (Double(losses.count) / dof).squareRoot() * rescale
        let residuals = standardized.map { $0 * inflation }
        return bootstrap(count: losses.count, resamples: resamples, level: level, seed: seed, minimumDistinct: 1,
                         fit: { idx in
                             let y = losses.indices.map { fitted[$0] + w[$0] * residuals[idx[$0]] }
                             return try fitMuScaling(parameters: parameters, losses: y, sigma: sigma, near: full)
                         },
                         quantities: quantities)
    }
}

/// A μScaling prediction with both of its intervals: the delta method's (the one used to compare designs;
/// with c at its bound widened to cover the bootstrap's) and the residual bootstrap's, which also covers c
/// leaving its bound.
public struct MuScalingPrediction: Sendable, Equatable {
    public var loss: Double
    public var lower: Double
    public var upper: Double
    /// How `lower` and `upper` were made, in words.
    public var method: String
    /// The residual bootstrap's percentile interval; nil when unavailable (`bootstrapNote` says why).
    public var bootstrapLower: Double?
    public var bootstrapUpper: Double?
    public var bootstrapNote: String
    /// Set when an interval reaches below 0 (`MuScalingFit.caveat`).
    public var caveat: String?
}

extension MuScalingFit {
    /// How `interval(at:)` is made, in words.
    public var intervalMethod: String {
        let scale = self.scale
        let weighting: String
        switch (sigma == nil ? nil : sigmaScale) {
        case nil: weighting = ""
        case .relative?: weighting = ", points weighted by sigma"
        case .atLeastAbsolute?: weighting = ", points weighted by their standard errors (covariance at least what they imply)"
        case .pooled?:
            weighting = scale.pooledSeeds
                ? ", points weighted by their standard errors, the seeds' scatter pooled with the means' about the law"
                : String(format: ", points weighted by their standard errors; the means scatter about the law more than the seeds explain (lack-of-fit p = %.3f): scaled by that scatter alone",
                         scale.lackOfFitProbability ?? 0)
        }
        return "delta method, t on \(degreesOfFreedom) degrees of freedom" + (cAtBound ? ", c fixed at its bound 0 (covariance of a and b)" : "") + weighting
    }

    /// The loss at `target` with the delta-method interval and a residual bootstrap's (`resamples`, seeded).
    /// `measurementVariance` widens the delta-method interval into one for a measurement there (a target
    /// run's scatter, ``measurementVariance(sigma:)``); the bootstrap's stays the law's. With c at its bound
    /// the delta method's interval is that of a·C^b, as if c were known to be 0, and carries none of c's
    /// uncertainty; the bootstrap's refits let c leave the bound, so the interval returned is the union of the
    /// two (docs/DESIGN.md, "c at its bound: the interval covers the bootstrap's").
    public func prediction(at target: Double, level: Double = 0.95, measurementVariance: Double = 0, resamples: Int = 1000,
                           seed: UInt64 = 0) -> MuScalingPrediction {
        var (lower, upper) = interval(at: target, level: level, addedVariance: measurementVariance)
        let boot = bootstrapMuScaling(parameters: parameters, losses: losses, sigma: sigma, sigmaScale: sigmaScale ?? .relative,
                                      seedDegreesOfFreedom: seedDegreesOfFreedom, at: [target], resamples: resamples, level: level, seed: seed)
        let (bl, bu) = boot.isAvailable ? (boot.lower[3], boot.upper[3]) : (nil, nil)
        let note = boot.unavailable.map { "bootstrap unavailable: \($0)" }
            ?? "residual bootstrap, \(boot.used) of \(resamples) resamples refitted (\(boot.failed) failed), seed \(seed)"
        var method = intervalMethod
        if cAtBound, let bl, let bu, bl < lower || bu > upper {
            (lower, upper) = (min(lower, bl), max(upper, bu))
            method += "; widened to cover the residual bootstrap's interval, whose refits let c leave its bound"
        }
        return MuScalingPrediction(loss: loss(at: target), lower: lower, upper: upper, method: method, bootstrapLower: bl, bootstrapUpper: bu,
                                   bootstrapNote: note,
                                   caveat: varianceIsResolved(at: target) ? Self.caveat(lower: min(lower, bl ?? lower), upper: upper)
                                       : "the coefficients are too collinear at the target for the delta method (gᵀΣg cancels to ≤ 0): its interval means nothing; use the bootstrap's")
    }
}
