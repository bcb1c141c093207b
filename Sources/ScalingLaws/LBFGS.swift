import Foundation

/// What `minimizeLBFGS` found.
public struct MinimizationResult: Sendable {
    public var point: [Double]
    public var value: Double
    public var iterations: Int
    public var converged: Bool
}

/// Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4: the two-loop recursion) with a backtracking
/// Armijo line search, optionally within bounds `lower` ≤ x ≤ `upper` (±infinity where free).
///
/// Stops as scipy's L-BFGS-B does by default: when the largest component of the projected gradient
/// P(x − g) − x is below `gradientTolerance` (pgtol 1e-5), or when the relative decrease of f is below
/// `relativeTolerance` (factr 1e7 × machine epsilon ≈ 2.2e-9).
///
/// Bounds are handled by a projected L-BFGS (Bertsekas 1982; Kim, Sra & Dhillon 2010), simpler than
/// L-BFGS-B's Cauchy point and subspace minimisation (Byrd et al. 1995) and reaching the same KKT point:
/// a variable on a bound whose gradient pushes it outward is *fixed* for the iteration; the two-loop
/// direction is computed for the free variables only; the line search backtracks along the projected
/// path P(x + t·d) with the Armijo condition on the actual step P(x + t·d) − x. When that path gives no
/// decrease (a quasi-Newton direction bent by the projection), the iteration falls back to the projected
/// steepest descent, which always does, and restarts the memory.
public func minimizeLBFGS(_ f: ([Double]) -> (value: Double, gradient: [Double]), start: [Double],
                          lower: [Double]? = nil, upper: [Double]? = nil, memory: Int = 10,
                          gradientTolerance: Double = 1e-5, relativeTolerance: Double = 2.220446049250313e-9,
                          maxIterations: Int = 15000) -> MinimizationResult {
    let count = start.count
    let lo = lower ?? [Double](repeating: -.infinity, count: count), hi = upper ?? [Double](repeating: .infinity, count: count)
    precondition(lo.count == count && hi.count == count && zip(lo, hi).allSatisfy { $0 <= $1 }, "minimizeLBFGS: bounds must match the start and have lower ≤ upper")
    let bounded = lower != nil || upper != nil
    func project(_ v: inout [Double]) { if bounded { for i in 0..<count { v[i] = min(max(v[i], lo[i]), hi[i]) } } }
    func dot(_ a: [Double], _ b: [Double]) -> Double { var t = 0.0; for i in a.indices { t += a[i] * b[i] }; return t }
    /// The largest component of P(x − g) − x: scipy's projected-gradient norm (the gradient, unbounded).
    func projectedGradientNorm(_ x: [Double], _ g: [Double]) -> Double {
        var m = 0.0
        for i in 0..<count { m = max(m, bounded ? abs(min(max(x[i] - g[i], lo[i]), hi[i]) - x[i]) : abs(g[i])) }
        return m
    }
    var x = start
    project(&x)
    var (fx, g) = f(x)
    var s: [[Double]] = [], y: [[Double]] = [], rho: [Double] = []
    guard fx.isFinite else { return MinimizationResult(point: x, value: fx, iterations: 0, converged: false) }
    for iteration in 1...maxIterations {
        if projectedGradientNorm(x, g) <= gradientTolerance { return MinimizationResult(point: x, value: fx, iterations: iteration - 1, converged: true) }
        // Fixed variables: on a bound, pushed outward by the gradient.
        var free = [Bool](repeating: true, count: count)
        if bounded { for i in 0..<count where (x[i] <= lo[i] && g[i] > 0) || (x[i] >= hi[i] && g[i] < 0) { free[i] = false } }
        // Two-loop recursion on the free variables: d = −H·g.
        var q = g
        for i in 0..<count where !free[i] { q[i] = 0 }
        var alpha = [Double](repeating: 0, count: s.count)
        for i in stride(from: s.count - 1, through: 0, by: -1) {
            alpha[i] = rho[i] * dot(s[i], q)
            for k in 0..<count { q[k] -= alpha[i] * y[i][k] }
        }
        let gamma = s.isEmpty ? 1 / max(g.map(abs).max()!, 1e-12) : dot(s.last!, y.last!) / dot(y.last!, y.last!)
        for k in 0..<count { q[k] *= gamma }
        for i in s.indices {
            let beta = rho[i] * dot(y[i], q)
            for k in 0..<count { q[k] += s[i][k] * (alpha[i] - beta) }
        }
        var d = q.map { -$0 }
        for i in 0..<count where !free[i] { d[i] = 0 }
        var accepted = dot(g, d) < 0 ? lineSearch(f, x: x, fx: fx, g: g, direction: d, project: project) : nil
        if accepted == nil && !s.isEmpty && (bounded || !(dot(g, d) < 0)) {
            // Not a descent direction, or (bounded) no decrease along the path the projection bent:
            // projected steepest descent from a fresh memory.
            s.removeAll(); y.removeAll(); rho.removeAll()
            d = (0..<count).map { free[$0] ? -g[$0] : 0 }
            accepted = lineSearch(f, x: x, fx: fx, g: g, direction: d, project: project)
        }
        guard let next = accepted else { return MinimizationResult(point: x, value: fx, iterations: iteration, converged: true) }
        let sk = zip(next.x, x).map { $0 - $1 }, yk = zip(next.g, g).map { $0 - $1 }
        let sy = dot(sk, yk)
        let decrease = (fx - next.f) / max(abs(fx), abs(next.f), 1)
        x = next.x; g = next.g
        let previous = fx
        fx = next.f
        if sy > 1e-12 {
            s.append(sk); y.append(yk); rho.append(1 / sy)
            if s.count > memory { s.removeFirst(); y.removeFirst(); rho.removeFirst() }
        }
        if decrease <= relativeTolerance && previous - fx >= 0 { return MinimizationResult(point: x, value: fx, iterations: iteration, converged: true) }
    }
    return MinimizationResult(point: x, value: fx, iterations: maxIterations, converged: false)
}

/// Backtracking from t = 1 along P(x + t·d) until f(x′) ≤ f(x) + 1e-4·gᵀ(x′ − x) (Armijo) with a real
/// descent gᵀ(x′ − x) < 0; nil when 60 halvings find none.
private func lineSearch(_ f: ([Double]) -> (value: Double, gradient: [Double]), x: [Double], fx: Double, g: [Double],
                        direction d: [Double], project: (inout [Double]) -> Void) -> (x: [Double], f: Double, g: [Double])? {
    var step = 1.0
    for _ in 0..<60 {
        var xn = x
        for i in xn.indices { xn[i] += step * d[i] }
        project(&xn)
        var slope = 0.0
        for i in xn.indices { slope += g[i] * (xn[i] - x[i]) }
        if slope < 0 {
            let (fn, gn) = f(xn)
            if fn.isFinite && fn <= fx + 1e-4 * slope { return (xn, fn, gn) }
        }
        step *= 0.5
    }
    return nil
}
