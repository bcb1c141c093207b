import Foundation

/// Chinchilla's law L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, Approach 3).
public struct ChinchillaFit: Codable, Sendable, Equatable {
    public var E: Double
    public var A: Double
    public var B: Double
    public var alpha: Double
    public var beta: Double
    /// The Huber objective at the optimum, and how many starts converged.
    public var objective: Double
    public var starts: Int
    public var n: Int

    public func loss(parameters n: Double, tokens d: Double) -> Double { E + A / pow(n, alpha) + B / pow(d, beta) }
}

/// The grid of starting points of Hoffmann et al. as Epoch reproduced it: α, β ∈ {0, 0.5, …, 2},
/// e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25} — 5·5·5·6·6 = 4,500 starts (a, b, e, α, β).
public func chinchillaStarts() -> [[Double]] {
    var starts: [[Double]] = []
    for a in stride(from: 0.0, through: 25, by: 5) { for b in stride(from: 0.0, through: 25, by: 5) {
        for e in stride(from: -1.0, through: 1, by: 0.5) { for alpha in stride(from: 0.0, through: 2, by: 0.5) {
            for beta in stride(from: 0.0, through: 2, by: 0.5) { starts.append([a, b, e, alpha, beta]) }
        } }
    } }
    return starts
}

/// Fits L(N, D) as Hoffmann et al. do: minimise Σ Huber_δ(LSE(a − α·log N, b − β·log D, e) − log L) with
/// L-BFGS from every start, keep the lowest objective; E = eᵉ, A = eᵃ, B = eᵇ.
public func fitChinchilla(parameters: [Double], tokens: [Double], losses: [Double], delta: Double = 1e-3,
                          starts: [[Double]] = chinchillaStarts()) throws -> ChinchillaFit {
    let law = "Chinchilla L = E + A/N^α + B/D^β"
    try checkColumns(law: law, minimumPoints: 6, [("N", parameters), ("D", tokens), ("loss", losses)])
    let logN = parameters.map { log($0) }, logD = tokens.map { log($0) }, logL = losses.map { log($0) }
    let count = losses.count
    func objective(_ p: [Double]) -> (value: Double, gradient: [Double]) {
        let (a, b, e, alpha, beta) = (p[0], p[1], p[2], p[3], p[4])
        var value = 0.0
        var g = [0.0, 0, 0, 0, 0]
        for i in 0..<count {
            let t1 = a - alpha * logN[i], t2 = b - beta * logD[i]
            // log-sum-exp with the largest term factored out: its exponential is 1, not computed
            let m = max(t1, t2, e)
            let e1 = t1 == m ? 1 : exp(t1 - m), e2 = t2 == m ? 1 : exp(t2 - m), e3 = e == m ? 1 : exp(e - m)
            let sum = e1 + e2 + e3
            let r = m + log(sum) - logL[i]
            let h: Double
            if abs(r) <= delta { value += 0.5 * r * r; h = r } else { value += delta * (abs(r) - 0.5 * delta); h = r > 0 ? delta : -delta }
            let w1 = e1 / sum, w2 = e2 / sum, w3 = e3 / sum
            g[0] += h * w1; g[1] += h * w2; g[2] += h * w3
            g[3] -= h * w1 * logN[i]; g[4] -= h * w2 * logD[i]
        }
        return (value, g)
    }
    // Every start is independent: spread them over the cores, keep the best (ties: the earliest start).
    let results = UnsafeMutableBufferPointer<MinimizationResult?>.allocate(capacity: starts.count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    DispatchQueue.concurrentPerform(iterations: starts.count) { i in results[i] = minimizeLBFGS(objective, start: starts[i]) }
    var best: MinimizationResult? = nil
    var converged = 0
    for case let r? in results {
        if r.converged { converged += 1 }
        if r.value.isFinite && r.value < (best?.value ?? .infinity) { best = r }
    }
    guard let p = best?.point else { throw ScalingLawError.degenerate(law: law, reason: "no start gave a finite objective") }
    return ChinchillaFit(E: exp(p[2]), A: exp(p[0]), B: exp(p[1]), alpha: p[3], beta: p[4], objective: best!.value,
                         starts: converged, n: count)
}

extension ChinchillaFit {
    /// (E, A, B, α, β), the order of bootstrap summaries.
    public var coefficients: [Double] { [E, A, B, alpha, beta] }
    /// The optimum as a start (a, b, e, α, β) of `fitChinchilla`.
    var start: [Double] { [log(A), log(B), log(E), alpha, beta] }
}

/// Fits without the `k` points of largest compute C = 6ND (full grid of starts) and predicts those.
public func backtestChinchilla(parameters: [Double], tokens: [Double], losses: [Double], holdOutLargest k: Int,
                               starts: [[Double]] = chinchillaStarts()) throws -> [HeldOutPoint] {
    try backtest(count: losses.count, holdOutLargest: k, size: { 6 * parameters[$0] * tokens[$0] }, minimumPoints: 6, law: "Chinchilla",
                 fit: { idx in try fitChinchilla(parameters: idx.map { parameters[$0] }, tokens: idx.map { tokens[$0] }, losses: idx.map { losses[$0] }, starts: starts) },
                 predict: { fit, i in fit.loss(parameters: parameters[i], tokens: tokens[i]) }, actual: { losses[$0] })
}

/// Bootstrap of (E, A, B, α, β) and of the loss at each (N, D) of `targets`. The Huber fit has no
/// covariance (docs/DESIGN.md), so this is its only interval. Each refit starts from the full fit's
/// optimum and from every 500th start of Hoffmann's grid (10 starts, not 4,500): a resample's optimum lies
/// near the full data's, and the grid guards against a resample moving to another basin.
public func bootstrapChinchilla(parameters: [Double], tokens: [Double], losses: [Double], fit full: ChinchillaFit,
                                at targets: [(Double, Double)], resamples: Int = 1000, level: Double = 0.95, seed: UInt64 = 0) -> BootstrapSummary {
    let starts = [full.start] + Array(chinchillaStarts().enumerated().filter { $0.offset % 500 == 0 }.map(\.element))
    return bootstrap(count: losses.count, resamples: resamples, level: level, seed: seed, minimumDistinct: 6,
                     fit: { idx in try fitChinchilla(parameters: idx.map { parameters[$0] }, tokens: idx.map { tokens[$0] }, losses: idx.map { losses[$0] }, starts: starts) },
                     quantities: { fit in fit.coefficients + targets.map { fit.loss(parameters: $0.0, tokens: $0.1) } })
}
