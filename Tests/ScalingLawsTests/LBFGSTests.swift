import XCTest
@testable import ScalingLaws

/// L-BFGS with bounds against scipy's L-BFGS-B (scripts/lbfgsb_scipy.py → Fixtures/lbfgsb.json), on problems
/// whose optimum has active bounds.
final class LBFGSTests: XCTestCase {
    struct Case: Decodable {
        var name: String
        var lower: [Double]
        var upper: [Double]?
        var start: [Double]
        var x: [Double]
        var f: Double
        var A: [[Double]]?
        var b: [Double]?
        var nnls: [Double]?
    }

    func cases() throws -> [Case] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/lbfgsb", withExtension: "json"))
        return try JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
    }

    func rosenbrock(_ x: [Double]) -> (value: Double, gradient: [Double]) {
        var f = 0.0, g = [Double](repeating: 0, count: x.count)
        for i in 0..<(x.count - 1) {
            let t = x[i + 1] - x[i] * x[i]
            f += 100 * t * t + (1 - x[i]) * (1 - x[i])
            g[i] += -400 * x[i] * t - 2 * (1 - x[i])
            g[i + 1] += 200 * t
        }
        return (f, g)
    }

    /// The 4-D Rosenbrock function in a box: three of four coordinates end on a bound.
    func testBoxedRosenbrockMatchesScipy() throws {
        let c = try XCTUnwrap(cases().first { $0.name == "rosenbrock4_box" })
        let r = minimizeLBFGS(rosenbrock, start: c.start, lower: c.lower, upper: c.upper, gradientTolerance: 1e-10, relativeTolerance: 0)
        XCTAssertTrue(r.converged)
        for i in c.x.indices { XCTAssertEqual(r.point[i], c.x[i], accuracy: 1e-7, "x[\(i)]") }
        XCTAssertEqual(r.value, c.f, accuracy: 1e-10 * c.f)
        XCTAssertEqual(r.point[0], 0.8, "upper bound active exactly")
        XCTAssertEqual(r.point[2], 1.5, "lower bound active exactly")
    }

    /// Non-negative least squares: scipy's L-BFGS-B and its exact active-set NNLS agree; so must we, with
    /// the negative coordinates of the unconstrained solution held at exactly 0.
    func testNonNegativeLeastSquaresMatchesScipy() throws {
        let c = try XCTUnwrap(cases().first { $0.name == "nnls" })
        let a = try XCTUnwrap(c.A), b = try XCTUnwrap(c.b), exact = try XCTUnwrap(c.nnls)
        let r = minimizeLBFGS({ x in
            let res = a.indices.map { i in zip(a[i], x).reduce(0) { $0 + $1.0 * $1.1 } - b[i] }
            let g = x.indices.map { j in a.indices.reduce(0) { $0 + a[$1][j] * res[$1] } }
            return (0.5 * res.reduce(0) { $0 + $1 * $1 }, g)
        }, start: c.start, lower: c.lower, gradientTolerance: 1e-10, relativeTolerance: 0)
        for i in exact.indices {
            XCTAssertEqual(r.point[i], exact[i], accuracy: 1e-7, "x[\(i)] against nnls")
            XCTAssertEqual(r.point[i], c.x[i], accuracy: 1e-7, "x[\(i)] against L-BFGS-B")
            if exact[i] == 0 { XCTAssertEqual(r.point[i], 0, "x[\(i)] on its bound") }
        }
        XCTAssertEqual(r.value, c.f, accuracy: 1e-10 * c.f)
    }

    /// L-BFGS on the Rosenbrock function reaches (1, 1) (hand-known minimum); bounds that do not bind change nothing.
    func testUnboundedAndLooseBoundsReachTheMinimum() {
        for bounds in [nil, [-5.0, 5.0]] {
            let r = minimizeLBFGS(rosenbrock, start: [-1.2, 1], lower: bounds.map { [$0[0], $0[0]] }, upper: bounds.map { [$0[1], $0[1]] },
                                  gradientTolerance: 1e-9, relativeTolerance: 0)
            XCTAssertEqual(r.point[0], 1, accuracy: 1e-6)
            XCTAssertEqual(r.point[1], 1, accuracy: 1e-6)
        }
    }
}
