import XCTest
@testable import ScalingLaws

/// Chinchilla's Approach 3 against scipy's L-BFGS-B on the same objective and starts
/// (scripts/chinchilla_scipy.py goldens → Fixtures/chinchilla.json: 80 synthetic points, 36 of the 4,500 starts).
final class ChinchillaTests: XCTestCase {
    struct Golden: Decodable {
        struct Fit: Decodable { var E, A, B, alpha, beta, objective: Double }
        var N: [Double]
        var D: [Double]
        var loss: [Double]
        var starts: [[Double]]
        var fit: Fit
    }

    func testMatchesScipy() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/chinchilla", withExtension: "json"))
        let g = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        let fit = try fitChinchilla(parameters: g.N, tokens: g.D, losses: g.loss, starts: g.starts)
        // The optimum is flat in A and B (Epoch: "to ~0.3%"); exponents and E are sharp.
        XCTAssertEqual(fit.objective, g.fit.objective, accuracy: 1e-6 * g.fit.objective)
        XCTAssertEqual(fit.E, g.fit.E, accuracy: 1e-3 * g.fit.E)
        XCTAssertEqual(fit.alpha, g.fit.alpha, accuracy: 1e-3 * g.fit.alpha)
        XCTAssertEqual(fit.beta, g.fit.beta, accuracy: 1e-3 * g.fit.beta)
        XCTAssertEqual(fit.A, g.fit.A, accuracy: 5e-3 * g.fit.A)
        XCTAssertEqual(fit.B, g.fit.B, accuracy: 5e-3 * g.fit.B)
    }

    func testTheGridIsHoffmannsFourThousandFiveHundredStarts() {
        let s = chinchillaStarts()
        XCTAssertEqual(s.count, 4500)
        XCTAssertEqual(Set(s.map { $0[0] }), [0, 5, 10, 15, 20, 25])
        XCTAssertEqual(Set(s.map { $0[2] }), [-1, -0.5, 0, 0.5, 1])
        XCTAssertEqual(Set(s.map { $0[3] }), [0, 0.5, 1, 1.5, 2])
    }
}
