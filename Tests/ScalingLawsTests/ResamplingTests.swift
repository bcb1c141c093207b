import XCTest
@testable import ScalingLaws

/// Backtests and bootstraps of every law (Resampling.swift), against hand-built expectations.
final class ResamplingTests: XCTestCase {
    /// SplitMix64 from seed 0 gives Vigna's published first outputs.
    func testSplitMix64ReferenceOutputs() {
        var g = SplitMix64(seed: 0)
        XCTAssertEqual([g.next(), g.next(), g.next()], [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }

    // A known over-training law and Gadre-style runs, in input order that is not sorted by compute.
    let truth = OverTrainingFit(E: 1.8, a: 200, b: 350, eta: 0.13, covariance: [], residualStandardError: 0, rmse: 0, n: 0)
    let runs: [(n: Double, m: Double)] = [(0.154e9, 20), (0.011e9, 20), (0.411e9, 20), (0.079e9, 20), (0.011e9, 320), (0.079e9, 80), (0.011e9, 80)]

    /// Holding out 2: the two runs of largest 6ND (0.411B·M20 and 0.079B·M80) are predicted by the law fitted
    /// on the other five, which on exact data is the truth.
    func testOverTrainingBacktestHoldsOutTheLargestCompute() throws {
        let n = runs.map(\.n), d = runs.map { $0.n * $0.m }
        let losses = zip(n, d).map { truth.loss(parameters: $0, tokens: $1) }
        let held = try backtestOverTraining(parameters: n, tokens: d, losses: losses, holdOutLargest: 2)
        XCTAssertEqual(held.map(\.index), [5, 2])  // 6ND: 0.079B²·80·6 = 3.0e18 < 0.411B²·20·6 = 2.0e19
        for p in held {
            XCTAssertEqual(p.actual, losses[p.index])
            XCTAssertEqual(p.predicted, losses[p.index], accuracy: 1e-6)
        }
        XCTAssertThrowsError(try backtestOverTraining(parameters: n, tokens: d, losses: losses, holdOutLargest: 3))
    }

    /// Downstream: "largest" is the lowest loss; the held-out error is predicted from the rest.
    func testDownstreamBacktestHoldsOutTheLowestLoss() throws {
        let losses = [3.3, 2.4, 4.0, 2.7, 3.6, 3.0, 4.5]
        let errors = losses.map { 0.85 - 2.5 * exp(-0.9 * $0) }
        let held = try backtestDownstream(losses: losses, errors: errors, holdOutLargest: 2)
        XCTAssertEqual(held.map(\.index), [3, 1])  // losses 2.7 then 2.4
        for p in held { XCTAssertEqual(p.predicted, errors[p.index], accuracy: 1e-6) }
    }

    /// On exact data every resample refits the truth: the bootstrap interval closes on the true value
    /// (downstream, 12 points: every resample has the 4 distinct losses it needs).
    func testBootstrapOfExactDataIsTheTruth() {
        let losses = (0..<12).map { 2.3 + 0.2 * Double($0) }
        let errors = losses.map { 0.85 - 2.5 * exp(-0.9 * $0) }
        let s = bootstrapDownstream(losses: losses, errors: errors, at: [2.0], resamples: 40, seed: 7)
        XCTAssertTrue(s.isAvailable, s.unavailable ?? "")
        XCTAssertEqual(s.used + s.failed, 40)
        XCTAssertEqual(s.lower[3], 0.85 - 2.5 * exp(-1.8), accuracy: 1e-6)
        XCTAssertEqual(s.upper[3], 0.85 - 2.5 * exp(-1.8), accuracy: 1e-6)
        XCTAssertEqual(s.lower[2], 0.9, accuracy: 1e-6)  // γ
    }

    /// Resamples that cannot be refitted count against the interval (issue 16): with 7 over-training runs
    /// for 4 coefficients, about half the resamples have fewer than 5 distinct runs. Dropping them would
    /// leave the resamples nearest the input and a falsely narrow interval; the bootstrap says it is unavailable.
    func testFailedRefitsMakeTheBootstrapUnavailable() {
        let n = runs.map(\.n), d = runs.map { $0.n * $0.m }
        let losses = zip(n, d).map { truth.loss(parameters: $0, tokens: $1) }
        let s = bootstrapOverTraining(parameters: n, tokens: d, losses: losses, at: [(6.9e9, 138e9)], resamples: 40, seed: 7)
        XCTAssertEqual(s.used + s.failed, 40)
        XCTAssertGreaterThan(s.failed, 1)  // 1 = round(0.025·39), what a 95% interval of 40 can leave out
        XCTAssertFalse(s.isAvailable)
        XCTAssertTrue(s.lower.isEmpty && s.upper.isEmpty && s.standardDeviations.isEmpty)
        XCTAssertTrue(s.unavailable?.contains("refits failed") ?? false, s.unavailable ?? "")
    }

    /// The failed resamples widen the interval, by hand: the "fit" returns the first drawn index of 100 and
    /// fails when it is 0 or 1. Seed 5 draws 2 failures: the 95% ranks among all 100 are round(0.025·99) = 2
    /// and 97, so the lower is the successes' rank 2 − 2 = 0 and the upper their rank 97. Seed 12 draws 4
    /// failures, more than the 2 the tail holds: unavailable.
    func testFailedRefitsWidenThePercentiles() {
        func firsts(_ seed: UInt64) -> [Int] {
            var rng = SplitMix64(seed: seed)
            return (0..<100).map { _ in (0..<100).map { _ in Int(rng.next() % 100) }[0] }
        }
        func run(_ seed: UInt64) -> BootstrapSummary {
            bootstrap(count: 100, resamples: 100, seed: seed, minimumDistinct: 0,
                      fit: { idx -> Int in if idx[0] < 2 { throw ScalingLawError.degenerate(law: "test", reason: "") }; return idx[0] },
                      quantities: { [Double($0)] })
        }
        XCTAssertEqual(firsts(5).filter { $0 < 2 }.count, 2)
        let values = firsts(5).filter { $0 >= 2 }.map(Double.init).sorted()
        let s = run(5)
        XCTAssertEqual(s.failed, 2)
        XCTAssertEqual(s.lower, [values[0]])
        XCTAssertEqual(s.upper, [values[97]])
        XCTAssertEqual(firsts(12).filter { $0 < 2 }.count, 4)
        XCTAssertFalse(run(12).isAvailable)
    }

    /// With noise, the bootstrap's spread of ε agrees with curve_fit's standard deviation (scipy golden,
    /// downstream_1: 12 points) to within a factor 1.5 (resampling 12 points for 3 coefficients widens it),
    /// and its 95% interval brackets the fitted value.
    func testBootstrapSpreadMatchesCurveFit() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/gadre_laws", withExtension: "json"))
        let all = try JSONDecoder().decode([GadreLawsScipyTests.Golden].self, from: Data(contentsOf: url))
        let g = try XCTUnwrap(all.first { $0.name == "downstream_1" })
        let losses = try XCTUnwrap(g.loss)
        let s = bootstrapDownstream(losses: losses, errors: g.y, at: [2.5], resamples: 120, seed: 1)
        XCTAssertGreaterThan(s.used, 100)
        XCTAssertGreaterThan(s.standardDeviations[0], g.perr[0] / 1.5)
        XCTAssertLessThan(s.standardDeviations[0], g.perr[0] * 1.5)
        let fitted = try fitDownstream(losses: losses, errors: g.y).error(atLoss: 2.5)
        XCTAssertLessThan(s.lower[3], fitted)
        XCTAssertGreaterThan(s.upper[3], fitted)
        // The same seed draws the same resamples, whatever the threads did.
        XCTAssertEqual(bootstrapDownstream(losses: losses, errors: g.y, at: [2.5], resamples: 120, seed: 1), s)
    }

    /// Chinchilla: exact data from a known law; the backtest holds out the largest 6ND and predicts it with
    /// the fit on the rest; the bootstrap (from the optimum plus 9 grid starts) brackets the truth closely.
    /// (L-BFGS stops, as scipy's, on a relative decrease of 2.2e-9 of an objective near zero, so exact data
    /// is recovered to about 1e-3, not to rounding.)
    func testChinchillaBacktestAndBootstrap() throws {
        let (E, A, B, alpha, beta) = (1.8, 400.0, 2000.0, 0.34, 0.28)
        var n: [Double] = [], d: [Double] = []
        for size in [2e7, 5e7, 1e8, 3e8, 1e9, 3e9] { for m in [5.0, 20, 80] { n.append(size); d.append(size * m) } }
        let losses = zip(n, d).map { E + A / pow($0, alpha) + B / pow($1, beta) }
        let starts = Array(chinchillaStarts().enumerated().filter { $0.offset % 125 == 0 }.map(\.element))
        let held = try backtestChinchilla(parameters: n, tokens: d, losses: losses, holdOutLargest: 1, starts: starts)
        let largest = n.indices.max { n[$0] * d[$0] < n[$1] * d[$1] }!
        XCTAssertEqual(held.map(\.index), [largest])
        let rest = n.indices.filter { $0 != largest }
        let fitRest = try fitChinchilla(parameters: rest.map { n[$0] }, tokens: rest.map { d[$0] }, losses: rest.map { losses[$0] }, starts: starts)
        XCTAssertEqual(held[0].predicted, fitRest.loss(parameters: n[largest], tokens: d[largest]), accuracy: 1e-12)
        XCTAssertEqual(held[0].predicted, losses[largest], accuracy: 2e-3 * losses[largest])
        let fit = try fitChinchilla(parameters: n, tokens: d, losses: losses, starts: starts)
        let s = bootstrapChinchilla(parameters: n, tokens: d, losses: losses, fit: fit, at: [(1e10, 2e11)], resamples: 12)
        XCTAssertGreaterThan(s.used, 8)
        let expected = E + A / pow(1e10, alpha) + B / pow(2e11, beta)
        XCTAssertEqual(s.lower[5], expected, accuracy: 5e-3 * expected)
        XCTAssertEqual(s.upper[5], expected, accuracy: 5e-3 * expected)
        XCTAssertEqual(s.lower[3], alpha, accuracy: 0.01)
        XCTAssertEqual(s.upper[4], beta, accuracy: 0.01)
    }
}
