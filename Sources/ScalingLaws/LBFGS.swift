import Foundation

/// What `minimizeLBFGS` found.
public struct MinimizationResult: Sendable {
    public var point: [Double]
    public var value: Double
    public var iterations: Int
    public var converged: Bool
}

/// Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4: the two-loop recursion) with a backtracking
/// Armijo line search. Stops as scipy's L-BFGS-B does by default: when the largest gradient component is
/// below `gradientTolerance` (pgtol 1e-5) or the relative decrease of f is below `relativeTolerance`
/// (factr 1e7 × machine epsilon ≈ 2.2e-9).
public func minimizeLBFGS(_ f: ([Double]) -> (value: Double, gradient: [Double]), start: [Double], memory: Int = 10,
                          gradientTolerance: Double = 1e-5, relativeTolerance: Double = 2.220446049250313e-9,
                          maxIterations: Int = 15000) -> MinimizationResult {
    var x = start
    var (fx, g) = f(x)
    var s: [[Double]] = [], y: [[Double]] = [], rho: [Double] = []
    func dot(_ a: [Double], _ b: [Double]) -> Double { var t = 0.0; for i in a.indices { t += a[i] * b[i] }; return t }
    guard fx.isFinite else { return MinimizationResult(point: x, value: fx, iterations: 0, converged: false) }
    for iteration in 1...maxIterations {
        if g.map(abs).max()! <= gradientTolerance { return MinimizationResult(point: x, value: fx, iterations: iteration - 1, converged: true) }
        // Two-loop recursion: d = −H·g.
        var q = g
        var alpha = [Double](repeating: 0, count: s.count)
        for i in stride(from: s.count - 1, through: 0, by: -1) {
            alpha[i] = rho[i] * dot(s[i], q)
            for k in q.indices { q[k] -= alpha[i] * y[i][k] }
        }
        let gamma = s.isEmpty ? 1 / max(g.map(abs).max()!, 1e-12) : dot(s.last!, y.last!) / dot(y.last!, y.last!)
        for k in q.indices { q[k] *= gamma }
        for i in s.indices {
            let beta = rho[i] * dot(y[i], q)
            for k in q.indices { q[k] += s[i][k] * (alpha[i] - beta) }
        }
        var d = q.map { -$0 }
        var slope = dot(g, d)
        if !(slope < 0) { d = g.map { -$0 }; slope = dot(g, d); s.removeAll(); y.removeAll(); rho.removeAll() }
        // Backtracking line search with the Armijo condition.
        var step = 1.0
        var accepted: (x: [Double], f: Double, g: [Double])? = nil
        for _ in 0..<60 {
            let xn = zip(x, d).map { $0 + step * $1 }
            let (fn, gn) = f(xn)
            if fn.isFinite && fn <= fx + 1e-4 * step * slope { accepted = (xn, fn, gn); break }
            step *= 0.5
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
