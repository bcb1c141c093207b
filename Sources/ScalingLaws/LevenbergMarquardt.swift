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
/// (absolute_sigma=False: inv(JᵀJ)·SSE/(n−p)) for the coefficients not held at a bound, and how the
/// iteration ended.
public struct LeastSquaresResult: Sendable {
    public var parameters: [Double]
    public var sumOfSquares: Double
    /// Per parameter: it ended on one of its bounds and is reported as fixed there, not estimated.
    public var atBound: [Bool]
    /// Covariance of the free parameters (p_free = those not `atBound`, on n − p_free degrees of freedom),
    /// with zero rows and columns for the fixed ones. nil when JᵀJ of the free ones is singular or
    /// n ≤ p_free (curve_fit returns inf then).
    public var covariance: [[Double]]?
    public var iterations: Int
    public var converged: Bool
    public var message: String

    /// Number of free parameters: the covariance's rank, the p of the t interval's n − p.
    public var freeCount: Int { atBound.filter { !$0 }.count }

    public var standardDeviations: [Double]? {
        covariance.map { c in c.indices.map { c[$0][$0].squareRoot() } }
    }
}

/// Levenberg–Marquardt with Marquardt's diagonal scaling (as MINPACK's lmder): minimises Σ r(θ)².
/// Stops when the relative reduction of the sum of squares and the relative step are both below `tolerance`
/// (MINPACK's ftol and xtol, 1.49e-8 in curve_fit).
///
/// `lower` and `upper` bound the parameters (±infinity where free; lower = upper fixes one). Bounds are
/// handled by an active set: at each iteration a parameter on a bound whose gradient points out of the box
/// is held there and the step is solved for the others only, then projected onto the box. Projecting a full
/// step instead (what this did before) stalls when one parameter reaches its bound: the other parameters'
/// components are those of a step that assumed the blocked one moves, so no damping lowers the sum of
/// squares and the iteration stops short of the constrained optimum (issue 16: 10 of 73 published curves).
public func levenbergMarquardt(_ problem: LeastSquaresProblem, start: [Double], lower: [Double]? = nil, upper: [Double]? = nil,
                               tolerance: Double = 1.49012e-8, maxIterations: Int = 2000) -> LeastSquaresResult {
    let lo = lower ?? [Double](repeating: -.infinity, count: start.count)
    let hi = upper ?? [Double](repeating: .infinity, count: start.count)
    func project(_ t: [Double]) -> [Double] { t.indices.map { i in min(max(t[i], lo[i]), hi[i]) } }
    func onBound(_ t: [Double], _ i: Int) -> Bool { t[i] <= lo[i] || t[i] >= hi[i] }
    var theta = project(start)
    var r = problem.residuals(theta)
    var sse = r.reduce(0) { $0 + $1 * $1 }
    var lambda = 1e-3
    var converged = false
    var message = "reached \(maxIterations) iterations"
    var iteration = 0
    guard sse.isFinite else {
        return LeastSquaresResult(parameters: theta, sumOfSquares: sse, atBound: theta.indices.map { onBound(theta, $0) }, covariance: nil,
                                  iterations: 0, converged: false, message: "the model is not finite at the starting point")
    }
    outer: while iteration < maxIterations {
        iteration += 1
        let j = problem.jacobian(theta)
        let jtj = Matrix.gram(j)
        let g = Matrix.transposeTimes(j, r)  // ½∇SSE: descent moves θᵢ by −gᵢ
        // The active set: parameters on a bound that descent would push outside it (or fixed by lo = hi).
        let free = theta.indices.filter { i in
            !(lo[i] == hi[i] || (theta[i] <= lo[i] && g[i] >= 0) || (theta[i] >= hi[i] && g[i] <= 0))
        }
        if free.allSatisfy({ abs(g[$0]) <= 1e-300 }) { converged = true; message = "zero projected gradient"; break }
        // Try increasing damping until the step lowers the sum of squares.
        while true {
            var a = free.map { i in free.map { k in jtj[i][k] } }
            for (m, i) in free.enumerated() { a[m][m] += lambda * max(jtj[i][i], 1e-300) }
            guard let reduced = Matrix.solve(a, free.map { -g[$0] }) else {
                lambda *= 10; if lambda > 1e20 { message = "singular system"; break outer }; continue
            }
            var step = [Double](repeating: 0, count: theta.count)
            for (m, i) in free.enumerated() { step[i] = reduced[m] }
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
    let atBound = theta.indices.map { onBound(theta, $0) }
    return LeastSquaresResult(parameters: theta, sumOfSquares: sse, atBound: atBound,
                              covariance: freeCovariance(problem.jacobian(theta), sse: sse, free: atBound.map { !$0 }),
                              iterations: iteration, converged: converged, message: message)
}

/// curve_fit's pcov for the free parameters only: inv(J_freeᵀ·J_free)·SSE/(n − p_free), zero rows and
/// columns for the fixed ones. A parameter held at a bound is not estimated, so it neither has a variance nor
/// uses a degree of freedom. nil when singular, non-finite or n ≤ p_free.
func freeCovariance(_ jacobian: [[Double]], sse: Double, free: [Bool]) -> [[Double]]? {
    let index = free.indices.filter { free[$0] }
    let n = jacobian.count, p = free.count
    guard n > index.count, let inv = Matrix.inverse(Matrix.gram(jacobian.map { row in index.map { row[$0] } })) else { return nil }
    let s2 = sse / Double(n - index.count)
    var covariance = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
    for (m, i) in index.enumerated() { for (k, j) in index.enumerated() { covariance[i][j] = inv[m][k] * s2 } }
    return covariance.joined().allSatisfy(\.isFinite) ? covariance : nil
}
