import XCTest
@testable import ScalingLaws

/// The learning-curve law (issue 16, item 4) on synthetic curves from known coefficients, and against scipy
/// on the same points (scripts/learning_curve_goldens.py → Fixtures/learning_curves.json).
final class LearningCurveTests: XCTestCase {
    struct Case: Decodable {
        struct Scipy: Decodable {
            var coefficients: [Double]; var standardDeviations: [Double]; var sse: Double
            var prediction: Double; var lower: Double; var upper: Double
        }
        var run: [Int]; var parameters: [Double]; var tokens: [Double]; var losses: [Double]
        var `true`: [Double]; var target: [Double]; var trueTarget: Double
        var scipy: Scipy?
        var points: [CurvePoint] { run.indices.map { CurvePoint(run: run[$0], parameters: parameters[$0], tokens: tokens[$0], loss: losses[$0]) } }
    }

    func golden(_ name: String) throws -> Case {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/learning_curves", withExtension: "json"))
        return try XCTUnwrap(try JSONDecoder().decode([String: Case].self, from: Data(contentsOf: url))[name])
    }

    /// Noise-free curves: the fit returns the coefficients they were made from.
    func testRecoversTheLawFromExactCurves() throws {
        let g = try golden("exact")
        let fit = try fitLearningCurves(g.points)
        for i in g.true.indices { XCTAssertEqual(fit.coefficients[i], g.true[i], accuracy: 1e-5 * g.true[i], "coefficient \(i)") }
        XCTAssertEqual(fit.loss(parameters: g.target[0], tokens: g.target[1]), g.trueTarget, accuracy: 1e-8)
        XCTAssertEqual(fit.runs, 5)
        XCTAssertEqual(fit.n, 100)
    }

    /// Noise of 0.002: scipy's bounded optimum, the cluster-robust standard deviations and the interval
    /// (t on runs − 1 = 4 degrees of freedom), and the interval covers the true law at the target.
    func testMatchesScipyOnNoisyCurves() throws {
        let g = try golden("noisy")
        let s = try XCTUnwrap(g.scipy)
        let fit = try fitLearningCurves(g.points)
        for i in s.coefficients.indices {
            XCTAssertEqual(fit.coefficients[i], s.coefficients[i], accuracy: 1e-5 * s.coefficients[i], "coefficient \(i)")
            XCTAssertEqual(fit.standardDeviations[i], s.standardDeviations[i], accuracy: 1e-4 * s.standardDeviations[i], "sd \(i)")
        }
        let x = (parameters: g.target[0], tokens: g.target[1])
        XCTAssertEqual(fit.value(at: x), s.prediction, accuracy: 1e-7)
        let (lo, hi) = fit.interval(at: x)
        XCTAssertEqual(lo, s.lower, accuracy: 1e-6)
        XCTAssertEqual(hi, s.upper, accuracy: 1e-6)
        XCTAssertTrue(lo <= g.trueTarget && g.trueTarget <= hi, "[\(lo), \(hi)] misses the true \(g.trueTarget)")
        XCTAssertEqual(fit.value(at: x), g.trueTarget, accuracy: 0.002 * g.trueTarget)
    }

    /// A covariance whose gᵀΣg cancels to ≤ 0 at the target gives no interval, not a zero-width one. By hand:
    /// Var(E) = Var(A) = 1, Cov(E, A) = −1 and α = 0, so g = (1, 1, 0, D^−β, …) and gᵀΣg = 1 − 2 + 1 = 0 while
    /// its terms are of size 1. Recorded: BERT's learning-curve fit in the fidelity benchmark (bert-bpe-s1,
    /// 2026-12-03: E at its bound 0, α = 0.0062, β = 0.012) had gᵀΣg = −0.0125 against terms summing to 46,316
    /// at its target, and printed [4.9770, 4.9770]. A zero covariance (a perfect fit) and the noisy golden's are resolved.
    func testAVarianceThatCancelsAtTheTargetIsNotResolved() throws {
        var cancelling = LearningCurveFit(E: 1, A: 1, alpha: 0, B: 1, beta: 0.5, covariance: Array(repeating: Array(repeating: 0, count: 5), count: 5),
                                          atBound: Array(repeating: false, count: 5), rmse: 0, n: 20, runs: 5)
        XCTAssertTrue(cancelling.varianceIsResolved(at: (1e6, 1e6)), "a zero covariance: a perfect fit")
        cancelling.covariance[0][0] = 1; cancelling.covariance[1][1] = 1
        cancelling.covariance[0][1] = -1; cancelling.covariance[1][0] = -1
        XCTAssertFalse(cancelling.varianceIsResolved(at: (1e6, 1e6)))
        let bert = LearningCurveFit(E: 0, A: 0.32032900241689677, alpha: 0.006214076851226586, B: 5.511733319081352, beta: 0.01223154539976374, covariance: [
            [0, 0, 0, 0, 0],
            [0, 11516.068572447175, -240.9182576112738, -11396.084094824202, 29.897740857360148],
            [0, -240.9199938816536, 5.040418313356996, 238.4101426596364, -0.6254859847993228],
            [0, -11396.12408743132, 238.40949360267462, 11277.377679206544, -29.58615821446822],
            [0, 29.897702571965965, -0.6254846440397496, -29.58634769703159, 0.07762072242173788]], atBound: [true, false, false, false, false], rmse: 0.012917416393544018, n: 40, runs: 10)
        XCTAssertFalse(bert.varianceIsResolved(at: (809_632, 614400)))
        let g = try golden("noisy")
        XCTAssertTrue(try fitLearningCurves(g.points).varianceIsResolved(at: (g.target[0], g.target[1])))
    }

    /// The backtest leaves out the largest run whole and predicts its last point from the others.
    func testBacktestPredictsTheLargestRunsLastPoint() throws {
        let g = try golden("exact")
        let held = try backtestLearningCurves(g.points, holdOutLargest: 1)
        XCTAssertEqual(held.count, 1)
        XCTAssertEqual(held[0].parameters, 5e5)
        XCTAssertEqual(held[0].actual, try XCTUnwrap(g.losses.last))
        XCTAssertEqual(held[0].relativeError, 0, accuracy: 1e-6)
    }

    /// Bad input is an error that says what is missing, not a trap.
    func testRefusesCurvesThatCannotIdentifyTheLaw() {
        func point(_ run: Int, _ n: Double, _ d: Double, _ loss: Double) -> CurvePoint { CurvePoint(run: run, parameters: n, tokens: d, loss: loss) }
        let flat: [CurvePoint] = (0..<8).map { i in point(i % 4, 1000 * Double(i % 4 + 1), 5e5, 3 - 0.1 * Double(i % 4)) }
        XCTAssertThrowsError(try fitLearningCurves(flat)) { XCTAssertTrue("\($0.localizedDescription)".contains("same token count")) }
        let twoRuns: [CurvePoint] = (0..<10).map { i in point(i % 2, 1000 * Double(i % 2 + 1), 1000 * Double(i + 1), 3) }
        XCTAssertThrowsError(try fitLearningCurves(twoRuns))
        let bad: [CurvePoint] = (0..<10).map { i in point(i % 5, 1000 * Double(i % 5 + 1), 1000, i == 3 ? Double.nan : 3) }
        XCTAssertThrowsError(try fitLearningCurves(bad))
        XCTAssertThrowsError(try backtestLearningCurves(twoRuns, holdOutLargest: 1))
    }

    /// fidelity-gpt-bytes-s2's curves (bench/fidelity, third run; 10 proxies of 5 widths × 4 validation
    /// points): the wider proxies are no better, so the fit ends with α ≈ 1e−33 (scipy's least_squares on the
    /// same points and bounds: α ≈ 1e−33, E 2.274) — A·N^−α is then a second E. The fit says so, instead of
    /// reporting a singular JᵀJ.
    func testRefusesCurvesThatDoNotFallWithN() {
        let curves: [(run: Int, parameters: Double, losses: [Double])] = [
            (0, 18880, [2.956285, 2.704240, 2.605935, 2.584906]),
            (1, 18880, [2.916712, 2.687170, 2.600590, 2.577470]),
            (2, 32928, [2.954410, 2.686032, 2.580230, 2.549144]),
            (3, 32928, [2.984655, 2.705174, 2.595096, 2.571987]),
            (4, 50048, [2.865336, 2.618754, 2.485539, 2.451814]),
            (5, 50048, [3.093437, 2.822892, 2.696542, 2.663532]),
            (6, 93504, [3.024564, 2.655337, 2.530542, 2.491787]),
            (7, 93504, [2.938094, 2.650530, 2.535984, 2.506725]),
            (8, 149248, [3.200728, 2.801328, 2.614997, 2.573644]),
            (9, 149248, [3.135195, 2.776745, 2.641977, 2.612071]),
        ]
        let points = curves.flatMap { c in
            c.losses.enumerated().map { CurvePoint(run: c.run, parameters: c.parameters, tokens: 153_600 * Double($0.offset + 1), loss: $0.element) }
        }
        XCTAssertThrowsError(try fitLearningCurves(points)) {
            XCTAssertTrue("\($0.localizedDescription)".contains("do not fall with N"), "\($0.localizedDescription)")
        }
    }
}
