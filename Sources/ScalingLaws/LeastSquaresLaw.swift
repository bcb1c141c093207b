import Foundation

/// A law fitted by least squares, with curve_fit's covariance of its coefficients: the delta method gives
/// the standard error of the fitted curve anywhere, and a Student's t interval on n − p degrees of freedom.
public protocol LeastSquaresLaw {
    /// Where the law is evaluated: a parameter count, an (N, D) pair, a loss.
    associatedtype Input
    /// The coefficients in the order of `covariance`.
    var coefficients: [Double] { get }
    /// curve_fit's pcov (absolute_sigma=False) of `coefficients`, in the units they are reported in.
    var covariance: [[Double]] { get }
    /// Number of points fitted.
    var n: Int { get }
    /// Coefficients estimated (not held at a bound): the p of the t interval's n − p degrees of freedom.
    var freeCoefficientCount: Int { get }
    /// The t interval's degrees of freedom: n − p unless the law's scale was estimated from more than its
    /// own residuals (a μScaling fit pooled with its seeds' scatter).
    var degreesOfFreedom: Int { get }
    /// The law's value at `x`.
    func value(at x: Input) -> Double
    /// ∂value/∂coefficients at `x`.
    func gradient(at x: Input) -> [Double]
}

extension LeastSquaresLaw {
    public var freeCoefficientCount: Int { coefficients.count }
    public var degreesOfFreedom: Int { max(n - freeCoefficientCount, 1) }

    /// Why this law's numbers cannot be used (a damaged saved fit: a covariance that is not p×p, a number
    /// that is not finite), or nil.
    public var shapeProblem: String? {
        let p = coefficients.count
        if !coefficients.allSatisfy(\.isFinite) { return "the coefficients are not all finite" }
        if covariance.count != p || !covariance.allSatisfy({ $0.count == p }) { return "the covariance is not \(p)×\(p)" }
        if !covariance.joined().allSatisfy(\.isFinite) { return "the covariance is not finite" }
        return n >= 1 ? nil : "n = \(n) points"
    }

    /// sqrt(diag(pcov)).
    public var standardDeviations: [Double] { covariance.indices.map { $0 < covariance[$0].count ? max(covariance[$0][$0], 0).squareRoot() : .nan } }

    /// Standard error of the fitted curve at `x`: sqrt(g·pcov·gᵀ), g = ∂value/∂coefficients. NaN when the
    /// covariance is not p×p (a damaged saved fit; decoding checks it, this keeps it from trapping).
    public func standardError(at x: Input) -> Double {
        let g = gradient(at: x)
        guard covariance.count == g.count, covariance.allSatisfy({ $0.count == g.count }) else { return .nan }
        var v = 0.0
        for i in g.indices { for j in g.indices { v += g[i] * covariance[i][j] * g[j] } }
        return max(v, 0).squareRoot()
    }

    /// Whether the covariance resolves the curve's variance at `x`: gᵀ·pcov·g above a billionth of Σ|g_i·pcov_ij·g_j|,
    /// or a zero covariance (a perfect fit). Coefficients so collinear along `x` that the terms cancel to
    /// nothing or below zero (an inverted JᵀJ that is numerically singular) leave ``standardError(at:)`` —
    /// clamped at 0 — and the interval meaningless: a zero-width interval is not a certain prediction.
    public func varianceIsResolved(at x: Input) -> Bool {
        let g = gradient(at: x)
        guard covariance.count == g.count, covariance.allSatisfy({ $0.count == g.count }) else { return false }
        var v = 0.0, scale = 0.0
        for i in g.indices { for j in g.indices { let term = g[i] * covariance[i][j] * g[j]; v += term; scale += abs(term) } }
        guard v.isFinite, scale.isFinite else { return false }
        return scale == 0 || v > 1e-9 * scale
    }

    /// Delta-method interval of the fitted curve at `x`, with Student's t quantile on ``degreesOfFreedom``
    /// (n − p, p the free coefficients: small n widens it). The uncertainty of the curve; `addedVariance` adds
    /// that of a noisy measurement at `x` (the target's run scatter: a prediction interval for what it measures).
    public func interval(at x: Input, level: Double = 0.95, addedVariance: Double = 0) -> (lower: Double, upper: Double) {
        let t = Distributions.studentQuantile((1 + level) / 2, dof: Double(degreesOfFreedom))
        let se = standardError(at: x)
        let mid = value(at: x), half = t * (se * se + max(addedVariance, 0)).squareRoot()
        return (mid - half, mid + half)
    }
}
