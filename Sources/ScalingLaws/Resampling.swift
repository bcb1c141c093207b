import Foundation

/// Backtests and bootstraps for every law. Both work on point *indices*, so one implementation serves laws
/// whose points are (C, L), (N, D, L) or (L, Err): the caller's `fit` builds the subset from the indices.

/// One held-out point of a backtest: its index in the input, what the law fitted without it predicts there,
/// and the measured value.
public struct HeldOutPoint: Codable, Sendable, Equatable {
    public var index: Int
    public var actual: Double
    public var predicted: Double
    /// (predicted − actual) / actual.
    public var relativeError: Double
}

/// Fits on all but the `k` points with the largest `size`, and predicts those (largest last).
///
/// - Parameters:
///   - count: number of points.
///   - size: what "largest" means for the law (C for μScaling, 6ND for Chinchilla and over-training).
///   - minimumPoints: the law's minimum; `count − k` must reach it.
///   - fit: fits the law to the points at the given indices.
///   - predict: the fitted law at point `index`; `actual` is the measured value there.
public func backtest<Fit>(count: Int, holdOutLargest k: Int, size: (Int) -> Double, minimumPoints: Int, law: String,
                          fit: ([Int]) throws -> Fit, predict: (Fit, Int) -> Double, actual: (Int) -> Double) throws -> [HeldOutPoint] {
    guard k >= 1, count - k >= minimumPoints else {
        throw ScalingLawError.tooFewPoints(law: "\(law) backtest holding out \(k)", needed: k + minimumPoints, got: count)
    }
    // Ties in size keep input order, so the result does not depend on the sort's stability. The kept points
    // stay in input order: the fit is the one of the input without the held-out rows.
    let order = (0..<count).sorted { (size($0), $0) < (size($1), $1) }
    let held = Array(order.suffix(k))
    let fitted = try fit((0..<count).filter { !held.contains($0) })
    return held.map { i in
        let p = predict(fitted, i), y = actual(i)
        return HeldOutPoint(index: i, actual: y, predicted: p, relativeError: (p - y) / y)
    }
}

/// How a bootstrap draws its resamples.
public enum BootstrapMethod: String, Codable, Sendable, CaseIterable {
    /// The fitted curve plus the fit's residuals drawn with replacement, at the same sizes (a fixed design).
    case residuals
    /// (size, loss) points drawn with replacement.
    case pairs
}

/// Percentile bootstrap of some quantities of a fit (coefficients, predictions).
public struct BootstrapSummary: Sendable, Equatable {
    /// Per quantity: the (1 − level)/2 and (1 + level)/2 percentiles, and the standard deviation; all empty
    /// when the bootstrap is unavailable (`unavailable` says why).
    public var lower: [Double]
    public var upper: [Double]
    public var standardDeviations: [Double]
    /// Resamples whose refit succeeded, and those that failed (too few distinct points, or a degenerate fit).
    public var used: Int
    public var failed: Int
    /// Why there is no interval: too many refits failed to bound the percentiles whatever their values.
    public var unavailable: String?

    public var isAvailable: Bool { unavailable == nil }

    static func unavailable(resamples: Int, reason: String) -> BootstrapSummary {
        BootstrapSummary(lower: [], upper: [], standardDeviations: [], used: 0, failed: resamples, unavailable: reason)
    }
}

/// Resamples the points with replacement (SplitMix64 from `seed`), refits, and summarises `quantities` of
/// every refit. The resamples are drawn in order before any fit, and the refits run in parallel into fixed
/// slots, so the result is the same for a seed whatever the thread timing.
///
/// A resample whose refit fails still counts: its quantities are unknown, so the percentiles are taken over
/// all resamples with the failed ones placed wherever they widen the interval most (below the lower
/// percentile and above the upper). When more than the tail's share failed, no such bound exists and the
/// summary is unavailable. Dropping failed resamples instead (what this did before) collapsed the interval
/// onto the point with 4 points: only the resamples that repeat the input survive (issue 16).
///
/// - Parameters:
///   - minimumDistinct: a resample with fewer distinct points is counted as failed, not fitted.
///   - fit: fits the law to the points at the given indices (repeats allowed); throwing counts as failed.
///   - quantities: what to summarise from a fit (finite values only; a non-finite one counts as failed).
public func bootstrap<Fit>(count: Int, resamples: Int, level: Double = 0.95, seed: UInt64 = 0, minimumDistinct: Int,
                           fit: ([Int]) throws -> Fit, quantities: (Fit) -> [Double]) -> BootstrapSummary {
    guard count > 0, resamples > 1 else {
        return .unavailable(resamples: resamples, reason: "a bootstrap needs points and at least 2 resamples")
    }
    var rng = SplitMix64(seed: seed)
    let draws = (0..<resamples).map { _ in (0..<count).map { _ in Int(rng.next() % UInt64(count)) } }
    let slots = UnsafeMutableBufferPointer<[Double]?>.allocate(capacity: resamples)
    slots.initialize(repeating: nil)
    defer { slots.deallocate() }
    withoutActuallyEscaping(fit) { fit in
        withoutActuallyEscaping(quantities) { quantities in
            DispatchQueue.concurrentPerform(iterations: resamples) { r in
                guard Set(draws[r]).count >= minimumDistinct, let f = try? fit(draws[r]) else { return }
                let q = quantities(f)
                if q.allSatisfy(\.isFinite) { slots[r] = q }
            }
        }
    }
    let samples = slots.compactMap { $0 }
    let failed = resamples - samples.count
    // Percentile positions among all resamples; failed ones sit below the lower and above the upper.
    let lowerRank = Int(((1 - level) / 2 * Double(resamples - 1)).rounded())
    let upperRank = Int(((1 + level) / 2 * Double(resamples - 1)).rounded())
    guard failed <= lowerRank, upperRank < samples.count, let width = samples.first?.count else {
        return BootstrapSummary(lower: [], upper: [], standardDeviations: [], used: samples.count, failed: failed, unavailable:
            "\(failed) of \(resamples) refits failed, more than the \(lowerRank) a \(Int((level * 100).rounded()))% interval can leave out; "
            + "use the delta-method interval, or more points")
    }
    var summary = BootstrapSummary(lower: [], upper: [], standardDeviations: [], used: samples.count, failed: failed, unavailable: nil)
    for j in 0..<width {
        let values = samples.map { $0[j] }.sorted()
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1) : 0
        summary.lower.append(values[lowerRank - failed])
        summary.upper.append(values[upperRank])
        summary.standardDeviations.append(variance.squareRoot())
    }
    return summary
}

/// Steele's SplitMix64: a tiny seeded generator, the same on every platform.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
