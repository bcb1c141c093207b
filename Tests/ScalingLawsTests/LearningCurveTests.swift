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
}
