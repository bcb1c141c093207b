import Foundation

/// A nonlinear least-squares problem: residuals r(θ) (model − data, weighted) and their Jacobian ∂r/∂θ.
public struct LeastSquaresProblem {
    public var residuals: ([Double]) -> [Double]
    public var jacobian: ([Double]) -> [[Double]]
    public init(residuals: @escaping ([Double]) -> [Double], jacobian: @escaping ([Double]) -> [[Double]]) {
        self.residuals = residuals
        self.jacobian = jacobian
    }
}

/// What `levenbergMarquardt` found: the estimate, its covariance as `scipy.optimize.curve_fit` reports it
/// (absolute_sigma=False: inv(JᵀJ)·SSE/(n−p)), and how the iteration ended.
public struct LeastSquaresResult: Sendable {
    public var parameters: [Double]
    public var sumOfSquares: Double
    /// nil when JᵀJ is singular or n ≤ p (curve_fit returns inf then).
    public var covariance: [[Double]]?
    public var iterations: Int
    public var converged: Bool
    public var message: String

    public var standardDeviations: [Double]? {
        covariance.map { c in c.indices.map { c[$0][$0].squareRoot() } }
    }
}

/// Levenberg–Marquardt with Marquardt's diagonal scaling (as MINPACK's lmder): minimises Σ r(θ)².
/// Stops when the relative reduction of the sum of squares and the relative step are both below `tolerance`
/// (MINPACK's ftol and xtol, 1.49e-8 in curve_fit).
///
/// `lower` and `upper` bound the parameters (±infinity where free): every trial step is projected onto the
/// box, as a simple active-set method does; scipy's bounded curve_fit uses a trust-region method instead,
/// which reaches the same constrained optimum on these small problems.
public func levenbergMarquardt(_ problem: LeastSquaresProblem, start: [Double], lower: [Double]? = nil, upper: [Double]? = nil,
                               tolerance: Double = 1.49012e-8, maxIterations: Int = 2000) -> LeastSquaresResult {
    func project(_ t: [Double]) -> [Double] {
        t.indices.map { i in min(max(t[i], lower?[i] ?? -.infinity), upper?[i] ?? .infinity) }
    }
    var theta = project(start)
    var r = problem.residuals(theta)
    var sse = r.reduce(0) { $0 + $1 * $1 }
    var lambda = 1e-3
    var converged = false
    var message = "reached \(maxIterations) iterations"
    var iteration = 0
    guard sse.isFinite else {
        return LeastSquaresResult(parameters: theta, sumOfSquares: sse, covariance: nil, iterations: 0, converged: false,
                                  message: "the model is not finite at the starting point")
    }
    outer: while iteration < maxIterations {
        iteration += 1
        let j = problem.jacobian(theta)
        let jtj = Matrix.gram(j)
        let g = Matrix.transposeTimes(j, r)
        if g.allSatisfy({ abs($0) <= 1e-300 }) { converged = true; message = "zero gradient"; break }
        // Try increasing damping until the step lowers the sum of squares.
        while true {
            var a = jtj
            for i in a.indices { a[i][i] += lambda * max(jtj[i][i], 1e-300) }
            guard let step = Matrix.solve(a, g.map { -$0 }) else { lambda *= 10; if lambda > 1e20 { message = "singular system"; break outer }; continue }
            let candidate = project(zip(theta, step).map { $0 + $1 })
            let rc = problem.residuals(candidate)
            let ssec = rc.reduce(0) { $0 + $1 * $1 }
            if ssec.isFinite && ssec <= sse {
                let relativeReduction = (sse - ssec) / max(sse, 1e-300)
                let stepNorm = zip(candidate, theta).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
                let thetaNorm = theta.reduce(0) { $0 + $1 * $1 }.squareRoot()
                theta = candidate; r = rc; sse = ssec
                lambda = max(lambda / 10, 1e-12)
                if relativeReduction <= tolerance && stepNorm <= tolerance * (thetaNorm + tolerance) {
                    converged = true; message = "converged"; break outer
                }
                if sse == 0 { converged = true; message = "exact fit"; break outer }
                break
            }
            lambda *= 10
            if lambda > 1e20 { converged = true; message = "no further decrease (converged to tolerance)"; break outer }
        }
    }
    let n = r.count, p = theta.count
    var covariance: [[Double]]? = nil
    if n > p, let inv = Matrix.inverse(Matrix.gram(problem.jacobian(theta))) {
        let s2 = sse / Double(n - p)
        covariance = inv.map { $0.map { $0 * s2 } }
        if !(covariance!.joined().allSatisfy(\.isFinite)) { covariance = nil }
    }
    return LeastSquaresResult(parameters: theta, sumOfSquares: sse, covariance: covariance, iterations: iteration,
                              converged: converged, message: message)
}
