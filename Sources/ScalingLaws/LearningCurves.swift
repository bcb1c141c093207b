import Foundation

/// Learning curves in the fit (issue 16, item 4): Chinchilla's form L(N, D) = E + A/N^α + B/D^β fitted by
/// least squares to every point along several runs' learning curves — (N, D, L) with D the tokens a run
/// had seen — instead of only each run's final loss. The points of one run are not independent (one set
/// of weights, one data order), so the covariance is cluster-robust, clustered by run, and the interval's
/// t has (runs − 1) degrees of freedom: the run, not the point, is the unit of evidence.
public struct LearningCurveFit: LeastSquaresLaw, Codable, Sendable, Equatable {
    public var E: Double
    public var A: Double
    public var alpha: Double
    public var B: Double
    public var beta: Double
    /// Cluster-robust (CR1) covariance of (E, A, α, B, β), raw units; zero rows and columns for a
    /// coefficient held at its bound.
    public var covariance: [[Double]]
    /// Per coefficient: held at its bound (E = 0, A = 0 or B = 0), reported as fixed, not estimated.
    public var atBound: [Bool]
    /// sqrt(SSE / n) over every point.
    public var rmse: Double
    /// Points fitted, and the runs (clusters) they came from.
    public var n: Int
    public var runs: Int

    public var coefficients: [Double] { [E, A, alpha, B, beta] }
    /// The t interval's degrees of freedom are runs − 1 (``interval(at:level:)`` of a clustered fit):
    /// n − p with p = n − runs + 1.
    public var freeCoefficientCount: Int { n - runs + 1 }

    public func loss(parameters n: Double, tokens d: Double) -> Double { value(at: (n, d)) }
    public func value(at x: (parameters: Double, tokens: Double)) -> Double {
        E + A * pow(x.parameters, -alpha) + B * pow(x.tokens, -beta)
    }
    /// ∂L/∂(E, A, α, B, β) = (1, N^−α, −A·N^−α·ln N, D^−β, −B·D^−β·ln D).
    public func gradient(at x: (parameters: Double, tokens: Double)) -> [Double] {
        let na = pow(x.parameters, -alpha), db = pow(x.tokens, -beta)
        return [1, na, -A * na * log(x.parameters), db, -B * db * log(x.tokens)]
    }
}

/// One point of a learning curve: run `run` (any label; points with the same label are one cluster) of N
/// parameters had loss `loss` after D tokens.
public struct CurvePoint: Codable, Sendable, Equatable {
    public var run: Int
    public var parameters: Double
    public var tokens: Double
    public var loss: Double
    public init(run: Int, parameters: Double, tokens: Double, loss: Double) {
        self.run = run
        self.parameters = parameters
        self.tokens = tokens
        self.loss = loss
    }
}

/// Least squares from a grid of starts: for each (α, β, E) of a small grid, A and B solve a linear
/// least-squares problem exactly; Levenberg–Marquardt refines all five with E, A, B ≥ 0 and
/// 0 ≤ α, β ≤ 4; the smallest sum of squares wins. N and D are scaled by their geometric means inside the
/// fit (conditioning) and the coefficients mapped back. Needs ≥ 3 runs of distinct N (α) and ≥ 2 token
/// counts per run on average (β).
public func fitLearningCurves(_ points: [CurvePoint]) throws -> LearningCurveFit {
    let law = "learning-curve L = E + A/N^α + B/D^β"
    try checkColumns(law: law, minimumPoints: 7, [("N", points.map(\.parameters)), ("D", points.map(\.tokens)), ("loss", points.map(\.loss))])
    let runLabels = Array(Set(points.map(\.run))).sorted()
    guard runLabels.count >= 3, Set(points.map(\.parameters)).count >= 3 else {
        throw ScalingLawError.tooFewPoints(law: law + " (runs of distinct N)", needed: 3, got: min(runLabels.count, Set(points.map(\.parameters)).count))
    }
    guard Set(points.map(\.tokens)).count >= 2 else {
        throw ScalingLawError.degenerate(law: law, reason: "every point has the same token count, so β and B are not identified: use points along the curves")
    }
    func geometricMean(_ v: [Double]) -> Double { exp(v.map { log($0) }.reduce(0, +) / Double(v.count)) }
    let n0 = geometricMean(points.map(\.parameters)), d0 = geometricMean(points.map(\.tokens))
    let x = points.map { $0.parameters / n0 }, z = points.map { $0.tokens / d0 }, y = points.map(\.loss)
    let count = points.count
    // θ = (E, A', α, B', β) with A' = A·n0^−α, B' = B·d0^−β.
    func jacobian(_ t: [Double]) -> [[Double]] {
        (0..<count).map { i in
            let xa = pow(x[i], -t[2]), zb = pow(z[i], -t[4])
            return [1, xa, -t[1] * xa * log(x[i]), zb, -t[3] * zb * log(z[i])]
        }
    }
    let problem = LeastSquaresProblem(
        residuals: { t in (0..<count).map { i in t[0] + t[1] * pow(x[i], -t[2]) + t[3] * pow(z[i], -t[4]) - y[i] } },
        jacobian: jacobian)
    let lower = [0.0, 0, 0, 0, 0], upper = [Double.infinity, .infinity, 4, .infinity, 4]
    let lo = y.min()!
    var best: LeastSquaresResult? = nil
    for alpha in [0.1, 0.3, 0.6, 1.0] { for beta in [0.1, 0.3, 0.6, 1.0] { for e in [0.0, 0.5 * lo, 0.8 * lo, 0.95 * lo] {
        let rows = (0..<count).map { [pow(x[$0], -alpha), pow(z[$0], -beta)] }
        guard let ab = Matrix.solve(Matrix.gram(rows), Matrix.transposeTimes(rows, y.map { $0 - e })) else { continue }
        let r = levenbergMarquardt(problem, start: [e, max(ab[0], 1e-6), alpha, max(ab[1], 1e-6), beta], lower: lower, upper: upper,
                                   tolerance: 1e-12)
        if r.sumOfSquares.isFinite && r.sumOfSquares < (best?.sumOfSquares ?? .infinity) { best = r }
    } } }
    guard let fit = best else { throw ScalingLawError.degenerate(law: law, reason: "no start reached a finite sum of squares") }
    let t = fit.parameters
    // A coefficient at its bound is fixed there; A = 0 or B = 0 also leaves its exponent unidentified.
    var fixed = fit.atBound
    fixed[2] = fixed[2] || fixed[1]
    fixed[4] = fixed[4] || fixed[3]
    guard !fixed[1] else {
        throw ScalingLawError.degenerate(law: law, reason: "A = 0: the losses do not fall with N along the curves")
    }
    // An exponent that ends near 0 (not exactly on its bound) makes its term a constant over the points — N^−α
    // varies by under 1e−6 across the proxies' sizes — which E already is: the fit cannot tell A from E.
    guard t[2] * log(x.max()! / x.min()!) > 1e-6 else {
        throw ScalingLawError.degenerate(law: law, reason: String(format: "α = %.2g: the losses do not fall with N along the curves", t[2]))
    }
    guard fixed[3] || t[4] * log(z.max()! / z.min()!) > 1e-6 else {
        throw ScalingLawError.degenerate(law: law, reason: String(format: "β = %.2g: the losses do not fall with D along the curves", t[4]))
    }
    let residuals = problem.residuals(t)
    let clusters = runLabels.map { label in (0..<count).filter { points[$0].run == label } }
    guard let scaled = clusterCovariance(jacobian(t), residuals: residuals, clusters: clusters, free: fixed.map { !$0 }) else {
        throw ScalingLawError.degenerate(law: law, reason: "the curves do not determine the free coefficients (singular JᵀJ)")
    }
    // Back to raw N, D: A = A'·n0^α, B = B'·d0^β; the covariance through that map's Jacobian.
    let sa = pow(n0, t[2]), sb = pow(d0, t[4])
    let a = t[1] * sa, b = t[3] * sb
    let map = [[1.0, 0, 0, 0, 0], [0, sa, a * log(n0), 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, sb, b * log(d0)], [0, 0, 0, 0, 1]]
    let sse = residuals.reduce(0) { $0 + $1 * $1 }
    return LearningCurveFit(E: t[0], A: a, alpha: t[2], B: b, beta: t[4], covariance: Matrix.congruence(map, scaled), atBound: fixed,
                            rmse: (sse / Double(count)).squareRoot(), n: count, runs: runLabels.count)
}

/// The cluster-robust sandwich (JᵀJ)⁻¹·(Σ_g J_gᵀ r_g r_gᵀ J_g)·(JᵀJ)⁻¹ over the free coefficients, with
/// CR1's small-sample factor G/(G − 1)·(n − 1)/(n − p); zero rows and columns for fixed ones. nil when
/// JᵀJ is singular or there is a single cluster.
func clusterCovariance(_ jacobian: [[Double]], residuals: [Double], clusters: [[Int]], free: [Bool]) -> [[Double]]? {
    let index = free.indices.filter { free[$0] }
    let n = jacobian.count, p = index.count, g = clusters.count
    guard g >= 2, n > p, let bread = Matrix.inverse(Matrix.gram(jacobian.map { row in index.map { row[$0] } })) else { return nil }
    var meat = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
    for cluster in clusters {
        // s_g = J_gᵀ r_g: the cluster's score.
        let s = index.map { j in cluster.reduce(0) { $0 + jacobian[$1][j] * residuals[$1] } }
        for a in 0..<p { for b in 0..<p { meat[a][b] += s[a] * s[b] } }
    }
    let factor = Double(g) / Double(g - 1) * Double(n - 1) / Double(n - p)
    let reduced = Matrix.congruence(bread, meat)
    var covariance = [[Double]](repeating: [Double](repeating: 0, count: free.count), count: free.count)
    for (m, i) in index.enumerated() { for (k, j) in index.enumerated() { covariance[i][j] = reduced[m][k] * factor } }
    return covariance.joined().allSatisfy(\.isFinite) ? covariance : nil
}

/// Fits without the runs of the `k` largest N (all their points) and predicts each held-out run's last
/// point (its largest D): the backtest of the final-loss fit, on curves.
public func backtestLearningCurves(_ points: [CurvePoint], holdOutLargest k: Int) throws -> [BacktestPoint] {
    let sizes = Array(Set(points.map(\.parameters))).sorted()
    guard k >= 1, sizes.count - k >= 3 else {
        throw ScalingLawError.tooFewPoints(law: "learning-curve backtest holding out \(k) size(s)", needed: k + 3, got: sizes.count)
    }
    let held = Set(sizes.suffix(k))
    let fit = try fitLearningCurves(points.filter { !held.contains($0.parameters) })
    return sizes.suffix(k).map { n in
        let last = points.filter { $0.parameters == n }.max { $0.tokens < $1.tokens }!
        let p = fit.loss(parameters: n, tokens: last.tokens)
        return BacktestPoint(parameters: n, actual: last.loss, predicted: p, relativeError: (p - last.loss) / last.loss)
    }
}
