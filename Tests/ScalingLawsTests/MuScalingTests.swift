import XCTest
@testable import ScalingLaws

/// μScaling fits against the paper's published numbers (Table 3) and scipy's curve_fit
/// (scripts/scaling_goldens.py → Fixtures/mu_scaling.json).
final class MuScalingTests: XCTestCase {
    // nanoLM Table 3b, 32-layer GPT at 7k steps; sizes in billions.
    let gpt32Sizes = [0.038, 0.076, 0.126, 0.189, 0.265, 0.353, 0.454, 1.714]
    let gpt32Losses = [3.92, 3.76, 3.65, 3.59, 3.54, 3.49, 3.47, 3.45]
    // Table 3b, 64-layer GPT at 10k steps.
    let gpt64Sizes = [0.077, 0.153, 0.254, 0.381, 0.532, 0.709, 0.911, 3.432]
    let gpt64Losses = [3.656, 3.389, 3.298, 3.215, 3.198, 3.087, 3.080, 2.958]

    func testPaperTable3GPT32() throws {
        let fit = try fitMuScaling(parameters: gpt32Sizes.map { $0 * 1e9 }, losses: gpt32Losses)
        XCTAssertEqual(fit.b, -0.6083, accuracy: 1e-4)
        XCTAssertEqual(fit.c, 3.3703, accuracy: 1e-4)
        XCTAssertEqual(fit.a(perUnit: 1e9), 0.07676, accuracy: 1e-4)
        XCTAssertEqual(fit.loss(at: 26.185e9), 3.3808, accuracy: 1e-4)  // the paper prints 3.381
    }

    func testPaperTable3GPT64() throws {
        let fit = try fitMuScaling(parameters: gpt64Sizes.map { $0 * 1e9 }, losses: gpt64Losses)
        XCTAssertEqual(fit.b, -0.4672, accuracy: 1e-4)
        XCTAssertEqual(fit.c, 2.8216, accuracy: 1e-4)
        XCTAssertEqual(fit.loss(at: 52.385e9), 2.8607, accuracy: 1e-4)  // the paper prints 2.861
    }

    /// The unit of C changes only a: raw parameters, millions and billions give the same b, c, prediction.
    func testUnitsDoNotChangeTheFit() throws {
        for unit in [1.0, 1e6, 1e9] {
            let fit = try fitMuScaling(parameters: gpt32Sizes.map { $0 * 1e9 / unit }, losses: gpt32Losses)
            XCTAssertEqual(fit.b, -0.608335, accuracy: 1e-5, "unit \(unit)")
            XCTAssertEqual(fit.c, 3.37031, accuracy: 1e-5, "unit \(unit)")
            XCTAssertEqual(fit.loss(at: 26.185e9 / unit), 3.38084, accuracy: 1e-5, "unit \(unit)")
        }
    }

    struct Golden: Decodable {
        var name: String
        var sizes: [Double]
        var losses: [Double]
        var sigma: [Double]?
        var popt: [Double]
        var perr: [Double]
        var target: Double
        var prediction: Double
    }

    /// Coefficients and their standard deviations equal scipy's to 1e-6 relative.
    func testMatchesScipyCurveFit() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/mu_scaling", withExtension: "json"))
        let goldens = try JSONDecoder().decode([Golden].self, from: Data(contentsOf: url))
        XCTAssertEqual(goldens.count, 5)
        for g in goldens {
            let fit = try fitMuScaling(parameters: g.sizes, losses: g.losses, sigma: g.sigma)
            let ours = [fit.a, fit.b, fit.c]
            for i in 0..<3 {
                XCTAssertEqual(ours[i], g.popt[i], accuracy: 1e-6 * abs(g.popt[i]), "\(g.name) coefficient \(i)")
                XCTAssertEqual(fit.standardDeviations[i], g.perr[i], accuracy: 1e-6 * abs(g.perr[i]), "\(g.name) sd \(i)")
            }
            XCTAssertEqual(fit.loss(at: g.target), g.prediction, accuracy: 1e-6 * g.prediction, g.name)
        }
    }

    /// Student's t quantiles against tables: t(0.975; 5) = 2.570582, t(0.975; 1) = 12.706205, t(0.95; 30) = 1.697261.
    func testStudentQuantiles() {
        XCTAssertEqual(Distributions.studentQuantile(0.975, dof: 5), 2.570582, accuracy: 1e-5)
        XCTAssertEqual(Distributions.studentQuantile(0.975, dof: 1), 12.706205, accuracy: 1e-4)
        XCTAssertEqual(Distributions.studentQuantile(0.95, dof: 30), 1.697261, accuracy: 1e-5)
        XCTAssertEqual(Distributions.normalQuantile(0.975), 1.959964, accuracy: 1e-5)
    }

    /// Fisher's F distribution against scipy.stats.f.cdf: F(2, 5) at its 95% point 5.786135, (3, 7) at 1.3,
    /// (2, 5) at 0.49, (1, 3) at 20.
    func testFisherCDF() {
        XCTAssertEqual(Distributions.fisherCDF(5.786135043349963, dof1: 2, dof2: 5), 0.95, accuracy: 1e-9)
        XCTAssertEqual(Distributions.fisherCDF(1.3, dof1: 3, dof2: 7), 0.6525028536089343, accuracy: 1e-9)
        XCTAssertEqual(Distributions.fisherCDF(0.49, dof1: 2, dof2: 5), 0.3607480656331313, accuracy: 1e-9)
        XCTAssertEqual(Distributions.fisherCDF(20, dof1: 1, dof2: 3), 0.9791648488038152, accuracy: 1e-9)
        XCTAssertEqual(Distributions.fisherCDF(0, dof1: 2, dof2: 5), 0)
    }

    /// The interval at a fitted size is the t quantile times the delta-method standard error, computed by hand.
    func testIntervalIsDeltaMethod() throws {
        let fit = try fitMuScaling(parameters: gpt64Sizes.map { $0 * 1e9 }, losses: gpt64Losses)
        let c = 52.385e9
        let g = [pow(c, fit.b), fit.a * pow(c, fit.b) * log(c), 1.0]
        var v = 0.0
        for i in 0..<3 { for j in 0..<3 { v += g[i] * fit.covariance[i][j] * g[j] } }
        let (lo, hi) = fit.interval(at: c)
        XCTAssertEqual(hi - fit.loss(at: c), 2.570582 * v.squareRoot(), accuracy: 1e-6)  // n − 3 = 5 dof
        XCTAssertEqual(fit.loss(at: c) - lo, hi - fit.loss(at: c), accuracy: 1e-12)
        XCTAssertGreaterThan(hi, lo)
    }

    func testBadInputIsAnError() {
        XCTAssertThrowsError(try fitMuScaling(parameters: [1, 2, 3], losses: [3, 2, 1])) { error in
            XCTAssertEqual(error as? ScalingLawError, .tooFewPoints(law: "μScaling L = a·C^b + c", needed: 4, got: 3))
        }
        XCTAssertThrowsError(try fitMuScaling(parameters: [1, 2, -3, 4], losses: [4, 3, 2, 1]))
        XCTAssertThrowsError(try fitMuScaling(parameters: [1, 2, 3, 4], losses: [4, .nan, 2, 1]))
        // Increasing losses have no decreasing power law: reported as degenerate, not returned.
        XCTAssertThrowsError(try fitMuScaling(parameters: [1e6, 2e6, 4e6, 8e6, 16e6], losses: [2.0, 2.1, 2.3, 2.6, 3.0])) { error in
            guard case .degenerate = error as? ScalingLawError else { return XCTFail("\(error)") }
        }
    }

    func testBacktestHoldsOutTheLargest() throws {
        let points = try backtestMuScaling(parameters: gpt32Sizes.map { $0 * 1e9 }, losses: gpt32Losses, holdOutLargest: 1)
        XCTAssertEqual(points.count, 1)
        XCTAssertEqual(points[0].parameters, 1.714e9)
        XCTAssertEqual(points[0].actual, 3.45)
        let fit7 = try fitMuScaling(parameters: Array(gpt32Sizes.prefix(7)).map { $0 * 1e9 }, losses: Array(gpt32Losses.prefix(7)))
        XCTAssertEqual(points[0].predicted, fit7.loss(at: 1.714e9), accuracy: 1e-12)
    }

    /// Eq. (1) by hand: l=2, w=64, s=128, V=512, B=4 → 96·4·128·2·64²·(1 + 128/384 + 512/2048) = 6.3963e8·1.58333.
    func testStepFLOPsEquation1() {
        let m = Cost.stepFLOPs(layers: 2, width: 64, sequenceLength: 128, vocabulary: 512, batchSize: 4)
        XCTAssertEqual(m, 96.0 * 4 * 128 * 2 * 4096 * (1 + 128.0 / 384 + 512.0 / 2048), accuracy: 1e-3)
        // The ratio of a plan equal to the target is 1; doubling a run's steps doubles its share.
        let target = Cost.Run(width: 256, steps: 100)
        XCTAssertEqual(Cost.ratio(plan: [target], target: target, layers: 2, sequenceLength: 128, vocabulary: 512, batchSize: 4), 1, accuracy: 1e-12)
        let twice = Cost.ratio(plan: [Cost.Run(width: 256, steps: 200)], target: target, layers: 2, sequenceLength: 128, vocabulary: 512, batchSize: 4)
        XCTAssertEqual(twice, 2, accuracy: 1e-12)
    }
}

extension MuScalingTests {
    /// Nearly log-linear losses (measured on the nano track: widths 32…128, a non-monotone point at 64) drive
    /// an unbounded fit to b → 0⁻ with a and c of ±2000. The fit keeps c ≥ 0 and b ≤ −0.001, and a fit that
    /// cannot is an error, not a silently returned curve.
    func testNoLogLinearDegenerateFit() throws {
        let sizes = [124_672.0, 222_624, 348_160, 684_000, 1_131_520]
        let losses = [2.1687, 2.0611, 2.1500, 2.0337, 2.0091]
        do {
            let fit = try fitMuScaling(parameters: sizes, losses: losses)
            XCTAssertGreaterThanOrEqual(fit.c, 0)
            XCTAssertLessThanOrEqual(fit.b, -1e-3)
            XCTAssertLessThan(fit.a, 1e6)
            let (lo, hi) = fit.interval(at: 4e6)
            XCTAssertGreaterThan(hi - lo, 1e-3, "a collapsed interval")
        } catch let error as ScalingLawError {
            guard case .degenerate = error else { return XCTFail("\(error)") }
        }
    }
}

extension MuScalingTests {
    /// The paper's Table 3 sizes from the analytic counts (vocabulary 50304, head size 64, tied readout,
    /// positions excluded): 32-layer GPT 0.038 B at width 256 and 26.185 B at 8192 (within 1%).
    func testTable3SizesFromAnalyticCounts() {
        let small = ParameterCounts.gpt(layers: 32, width: 256, vocabulary: 50304, sequenceLength: 512, ffnWidth: 1024, tiedEmbeddings: true)
        let large = ParameterCounts.gpt(layers: 32, width: 8192, vocabulary: 50304, sequenceLength: 512, ffnWidth: 32768, tiedEmbeddings: true)
        XCTAssertEqual(Double(small.scaling) / 1e9, 0.038, accuracy: 0.01 * 0.038)
        XCTAssertEqual(Double(large.scaling) / 1e9, 26.185, accuracy: 0.01 * 26.185)
    }
}
