import XCTest
@testable import ScalingLaws

/// Gadre et al.'s over-training and downstream laws recover known coefficients from exact data.
final class GadreLawsTests: XCTestCase {
    func testOverTrainingRecoversKnownLaw() throws {
        // L = 1.8 + (200·M^0.13 + 350·M^−0.13)·C^−0.13, C = 6ND, at Gadre's fitting design and two more points.
        let truth = OverTrainingFit(E: 1.8, a: 200, b: 350, eta: 0.13, covariance: [], residualStandardError: 0, rmse: 0, n: 0)
        let runs: [(Double, Double)] = [(0.011e9, 20), (0.079e9, 20), (0.154e9, 20), (0.411e9, 20), (0.011e9, 320), (0.079e9, 80)]
        let n = runs.map(\.0), d = runs.map { $0.0 * $0.1 }
        let losses = zip(n, d).map { truth.loss(parameters: $0, tokens: $1) }
        let fit = try fitOverTraining(parameters: n, tokens: d, losses: losses)
        XCTAssertEqual(fit.E, 1.8, accuracy: 1e-5)
        XCTAssertEqual(fit.eta, 0.13, accuracy: 1e-6)
        XCTAssertEqual(fit.a, 200, accuracy: 1e-3)
        XCTAssertEqual(fit.b, 350, accuracy: 1e-3)
        // Hand check of the law itself: N = 1e9, D = 2e10 → C = 1.2e20, M = 20.
        let c = 1.2e20, m = 20.0
        let byHand: Double = 1.8 + (200 * pow(m, 0.13) + 350 * pow(m, -0.13)) * pow(c, -0.13)
        XCTAssertEqual(truth.loss(parameters: 1e9, tokens: 2e10), byHand, accuracy: 1e-12)
    }

    func testDownstreamRecoversKnownLaw() throws {
        let losses = [2.4, 2.7, 3.0, 3.3, 3.6, 4.0, 4.5]
        let errors = losses.map { 0.85 - 2.5 * exp(-0.9 * $0) }
        let fit = try fitDownstream(losses: losses, errors: errors)
        XCTAssertEqual(fit.epsilon, 0.85, accuracy: 1e-6)
        XCTAssertEqual(fit.k, 2.5, accuracy: 1e-5)
        XCTAssertEqual(fit.gamma, 0.9, accuracy: 1e-6)
    }

    func testTooFewPointsAreErrors() {
        XCTAssertThrowsError(try fitOverTraining(parameters: [1e7, 2e7, 3e7, 4e7], tokens: [2e8, 4e8, 6e8, 8e8], losses: [4, 3.8, 3.6, 3.5]))
        XCTAssertThrowsError(try fitDownstream(losses: [3, 2.5, 2], errors: [0.8, 0.7, 0.6]))
    }
}

/// Over-training and downstream fits against scipy's curve_fit from the true coefficients
/// (scripts/scaling_goldens.py → Fixtures/gadre_laws.json): coefficients, standard deviations and 95%
/// delta-method intervals (scipy.stats.t on n − p) to 1e-6 relative.
final class GadreLawsScipyTests: XCTestCase {
    struct Golden: Decodable {
        var law: String
        var name: String
        var N: [Double]?
        var D: [Double]?
        var loss: [Double]?
        var y: [Double]
        var popt: [Double]
        var perr: [Double]
        var targets: [[Double]]
        var intervals: [[Double]]
    }

    func goldens() throws -> [Golden] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/gadre_laws", withExtension: "json"))
        return try JSONDecoder().decode([Golden].self, from: Data(contentsOf: url))
    }

    func check<L: LeastSquaresLaw>(_ fit: L, _ g: Golden, at inputs: [L.Input]) {
        for i in g.popt.indices {
            XCTAssertEqual(fit.coefficients[i], g.popt[i], accuracy: 1e-6 * abs(g.popt[i]), "\(g.name) coefficient \(i)")
            XCTAssertEqual(fit.standardDeviations[i], g.perr[i], accuracy: 1e-6 * g.perr[i], "\(g.name) sd \(i)")
        }
        for (x, expected) in zip(inputs, g.intervals) {
            let (lo, hi) = fit.interval(at: x)
            XCTAssertEqual(fit.value(at: x), expected[0], accuracy: 1e-6 * abs(expected[0]), g.name)
            XCTAssertEqual(lo, expected[1], accuracy: 1e-6 * abs(expected[1]), "\(g.name) lower")
            XCTAssertEqual(hi, expected[2], accuracy: 1e-6 * abs(expected[2]), "\(g.name) upper")
        }
    }

    func testMatchesScipy() throws {
        let all = try goldens()
        XCTAssertEqual(all.count, 4)
        for g in all {
            if g.law == "overtrain" {
                let fit = try fitOverTraining(parameters: XCTUnwrap(g.N), tokens: XCTUnwrap(g.D), losses: g.y)
                check(fit, g, at: g.targets.map { ($0[0], $0[1]) })
            } else {
                let fit = try fitDownstream(losses: XCTUnwrap(g.loss), errors: g.y)
                check(fit, g, at: g.targets.map { $0[0] })
            }
        }
    }
}
