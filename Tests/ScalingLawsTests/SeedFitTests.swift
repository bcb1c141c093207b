import XCTest
@testable import ScalingLaws

/// A study's fit with seeds (issue 16, item 2): the widths' mean losses weighted by their standard errors,
/// the covariance at least what those imply — against scipy's curve_fit with sigma on the same points
/// (scripts/seed_fit_goldens.py → Fixtures/seed_fits.json).
final class SeedFitTests: XCTestCase {
    struct Golden: Decodable {
        var name: String
        var sizes: [Double]
        var seedLosses: [[Double]]
        var target: Double
        var means: [Double]
        var pooledStandardDeviation: Double
        var standardErrors: [Double]
        var cAtBound: Bool
        var popt: [Double]
        var reducedChiSquare: Double
        var covariance: [[Double]]
        var relativeCovariance: [[Double]]
        var prediction: Double
        var interval: [Double]
    }

    static func goldens() throws -> [Golden] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/seed_fits", withExtension: "json"))
        return try JSONDecoder().decode([Golden].self, from: Data(contentsOf: url))
    }

    func assertCovariance(_ fit: MuScalingFit, _ expected: [[Double]], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        for i in 0 ..< 3 { for j in 0 ..< 3 {
            let e = expected[i][j]
            XCTAssertEqual(fit.covariance[i][j], e, accuracy: 1e-5 * max(abs(e), (abs(expected[i][i] * expected[j][j])).squareRoot()),
                           "\(name) covariance[\(i)][\(j)]", file: file, line: line)
        } }
    }

    /// Coefficients, covariance (absolute times max(1, χ²/(n − p))) and the 95% interval equal scipy's, in a case
    /// where the seeds' noise decides (χ²/dof < 1), one where the misfit does (≫ 1), and one with c at its bound.
    func testWeightedFitEqualsScipyWithTheAbsoluteFloor() throws {
        let goldens = try Self.goldens()
        XCTAssertEqual(goldens.count, 3)
        XCTAssertLessThan(goldens[0].reducedChiSquare, 1, "the first case must exercise the floor")
        XCTAssertGreaterThan(goldens[1].reducedChiSquare, 1, "the second case must exercise the relative scale")
        XCTAssertTrue(goldens[2].cAtBound)
        for g in goldens {
            let fit = try fitMuScaling(parameters: g.sizes, losses: g.means, sigma: g.standardErrors, sigmaScale: .atLeastAbsolute)
            XCTAssertEqual(fit.cAtBound, g.cAtBound, g.name)
            for i in 0 ..< 3 { XCTAssertEqual(fit.coefficients[i], g.popt[i], accuracy: 1e-6 * max(abs(g.popt[i]), 1e-3), "\(g.name) coefficient \(i)") }
            assertCovariance(fit, g.covariance, g.name)
            XCTAssertEqual(fit.loss(at: g.target), g.prediction, accuracy: 1e-6 * g.prediction, g.name)
            let (lo, hi) = fit.interval(at: g.target)
            XCTAssertEqual(lo, g.interval[0], accuracy: 1e-5 * abs(g.interval[0]), g.name)
            XCTAssertEqual(hi, g.interval[1], accuracy: 1e-5 * abs(g.interval[1]), g.name)
            XCTAssertEqual(fit.sigma, g.standardErrors, g.name)
            XCTAssertEqual(fit.sigmaScale, .atLeastAbsolute, g.name)
            // curve_fit's default (absolute_sigma=False) on the same points.
            let relative = try fitMuScaling(parameters: g.sizes, losses: g.means, sigma: g.standardErrors)
            assertCovariance(relative, g.relativeCovariance, g.name + " (relative)")
        }
    }

    /// A saved weighted fit keeps its sigma (the study's bootstrap weights as the fit did); an old file without
    /// them reads as unweighted, and sigma of the wrong length is an error naming the field.
    func testSavedFitKeepsSigma() throws {
        let g = try Self.goldens()[0]
        let fit = try fitMuScaling(parameters: g.sizes, losses: g.means, sigma: g.standardErrors, sigmaScale: .atLeastAbsolute)
        let decoded = try JSONDecoder().decode(MuScalingFit.self, from: JSONEncoder().encode(fit))
        XCTAssertEqual(decoded, fit)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(fit)) as? [String: Any])
        object["sigma"] = [0.01]
        XCTAssertThrowsError(try JSONDecoder().decode(MuScalingFit.self, from: JSONSerialization.data(withJSONObject: object))) { error in
            XCTAssertTrue("\(error)".contains("sigma"), "\(error)")
        }
        object["sigma"] = nil
        object["sigmaScale"] = nil
        let old = try JSONDecoder().decode(MuScalingFit.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertNil(old.sigma)
        XCTAssertNil(old.sigmaScale)
    }

    /// The bootstrap of a weighted fit uses its sigma: with the floor, resampled residuals are at least the
    /// seeds' noise, so its interval is wider than the unweighted residual bootstrap's on points that lie
    /// close to the law (χ²/dof = 0.06 here).
    func testBootstrapIncludesTheSeedsNoise() throws {
        let g = try Self.goldens()[0]
        let weighted = try fitMuScaling(parameters: g.sizes, losses: g.means, sigma: g.standardErrors, sigmaScale: .atLeastAbsolute)
        let unweighted = try fitMuScaling(parameters: g.sizes, losses: g.means)
        let w = weighted.prediction(at: g.target, resamples: 400), u = unweighted.prediction(at: g.target, resamples: 400)
        let (wl, wu) = (try XCTUnwrap(w.bootstrapLower), try XCTUnwrap(w.bootstrapUpper))
        let (ul, uu) = (try XCTUnwrap(u.bootstrapLower), try XCTUnwrap(u.bootstrapUpper))
        XCTAssertGreaterThan(wu - wl, 1.5 * (uu - ul), "weighted [\(wl), \(wu)] vs unweighted [\(ul), \(uu)]")
    }
}
