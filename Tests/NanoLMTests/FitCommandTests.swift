import Foundation
import XCTest

/// `nanolm fit` and `nanolm predict` as a user runs them: points that follow a law exactly, the JSON the
/// binary prints, a saved fit read back, and a bad line named by file and line.
final class FitCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fit-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Runs the built binary; (exit status, stdout, stderr).
    func nanolm(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        try runProcess(try builtNanolm(), arguments)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = directory.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    /// L = 50·C^−0.3 + 1.5 at C = 1M…32M: the fit recovers (50, −0.3, 1.5) and predicts 26.185e9 as
    /// 50·26.185e9^−0.3 + 1.5 = 1.53746 (by hand: 26.185e9^−0.3 = 10^(−0.3·10.41806) = 7.4918e-4).
    func testMuScalingFitAndSavedPrediction() throws {
        let rows = [1e6, 2e6, 4e6, 8e6, 16e6, 32e6].map { String(format: "%.0f,%.15f", $0, 50 * Foundation.pow($0, -0.3) + 1.5) }
        let input = try write("proxies.csv", "params,loss\n" + rows.joined(separator: "\n") + "\n")
        let saved = directory.appendingPathComponent("fit.json").path
        let fit = try nanolm(["fit", "--law", "mu", "--input", input, "--predict", "26.185e9", "--save", saved, "--json"])
        XCTAssertEqual(fit.status, 0, fit.err)
        let result = try json(fit.out)
        XCTAssertEqual(result["law"] as? String, "mu")
        XCTAssertEqual(result["n"] as? Int, 6)
        let coefficients = try XCTUnwrap(result["coefficients"] as? [String: Double])
        XCTAssertEqual(coefficients["a"]!, 50, accuracy: 1e-6)
        XCTAssertEqual(coefficients["b"]!, -0.3, accuracy: 1e-9)
        XCTAssertEqual(coefficients["c"]!, 1.5, accuracy: 1e-9)
        let prediction = try XCTUnwrap((result["predictions"] as? [[String: Double]])?.first)
        XCTAssertEqual(prediction["loss"]!, 50 * 7.4918e-4 + 1.5, accuracy: 1e-5)
        XCTAssertLessThanOrEqual(prediction["lower"]!, prediction["loss"]!)
        XCTAssertGreaterThanOrEqual(prediction["upper"]!, prediction["loss"]!)

        let predict = try nanolm(["predict", "--fit", saved, "26.185e9", "--json"])
        XCTAssertEqual(predict.status, 0, predict.err)
        let again = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(predict.out.utf8)) as? [[String: Double]])?.first)
        XCTAssertEqual(again["loss"]!, prediction["loss"]!, accuracy: 1e-12)
    }

    /// Err = 0.75 − 2·exp(−L): the downstream law recovers (ε, k, γ) and predicts Err(1.8) = 0.75 − 2·e^−1.8.
    func testDownstreamFit() throws {
        let rows = [2.0, 2.2, 2.4, 2.6, 2.8, 3.0].map { String(format: "%.1f,%.15f", $0, 0.75 - 2 * Foundation.exp(-$0)) }
        let input = try write("errors.csv", "loss,err\n" + rows.joined(separator: "\n") + "\n")
        let fit = try nanolm(["fit", "--law", "downstream", "--input", input, "--predict", "1.8", "--json"])
        XCTAssertEqual(fit.status, 0, fit.err)
        let result = try json(fit.out)
        let coefficients = try XCTUnwrap(result["coefficients"] as? [String: Double])
        XCTAssertEqual(coefficients["epsilon"]!, 0.75, accuracy: 1e-8)
        XCTAssertEqual(coefficients["k"]!, 2, accuracy: 1e-8)
        XCTAssertEqual(coefficients["gamma"]!, 1, accuracy: 1e-8)
        let prediction = try XCTUnwrap((result["predictions"] as? [[String: Double]])?.first)
        XCTAssertEqual(prediction["err"]!, 0.75 - 2 * 0.16529888822158653, accuracy: 1e-8)
    }

    /// A value that is not a number: exit status 1 and a message naming the file, the line and the column.
    func testBadValueNamesFileLineAndColumn() throws {
        let input = try write("bad.csv", "params,loss\n1e6,3.1\n2e6,3.0\n4e6,abc\n8e6,2.8\n")
        let fit = try nanolm(["fit", "--input", input])
        XCTAssertEqual(fit.status, 1)
        XCTAssertTrue(fit.err.contains("bad.csv:4") && fit.err.contains("'loss'") && fit.err.contains("'abc'"), fit.err)
        XCTAssertEqual(fit.out, "")
    }
}

/// Issue 16: bounds, intervals and backtests as `nanolm fit` prints them (numbers from scipy:
/// Tests/ScalingLawsTests/Fixtures/bounded_fits.json, scripts/bounded_fit_goldens.py).
extension FitCommandTests {
    /// The README main job's proxies: c at its bound is listed as fixed, with no stderr; the interval is
    /// scipy's a·C^b interval on 3 degrees of freedom, [1.93936, 2.12655].
    func testCAtItsBoundIsFixedWithoutStandardDeviation() throws {
        let input = try write("readme.csv", "params,loss\n50048,2.2428\n93504,2.2101\n149248,2.2063\n297600,2.1120\n495104,2.1168\n")
        let fit = try nanolm(["fit", "--input", input, "--predict", "1776640", "--json"])
        XCTAssertEqual(fit.status, 0, fit.err)
        let result = try json(fit.out)
        XCTAssertEqual(result["fixed"] as? [String: Double], ["c": 0])
        XCTAssertNil((result["stderr"] as? [String: Double])?["c"])
        XCTAssertNil((result["coefficients"] as? [String: Double])?["c"])
        XCTAssertTrue((result["interval"] as? String)?.contains("n − 2") ?? false)
        let p = try XCTUnwrap((result["predictions"] as? [[String: Double]])?.first)
        XCTAssertEqual(p["lower"]!, 1.939356454078432, accuracy: 1e-6)
        XCTAssertEqual(p["upper"]!, 2.126545228881521, accuracy: 1e-6)
        let table = try nanolm(["fit", "--input", input, "--predict", "1776640"])
        XCTAssertTrue(table.out.contains("c at its bound 0: fitted as a·C^b"), table.out)
        XCTAssertNil(table.out.split(separator: "\n").first { $0.contains("  c ") && $0.contains("±") }, table.out)
    }

    /// --holdout-largest works when the fit on all points is refused: the backtest of the kept points is
    /// printed (scipy on the 5 kept points: 2.44051 at 32e6), then exit status 1 for the full fit.
    func testHoldoutWhenTheFullFitIsRefused() throws {
        let input = try write("hold.csv", "params,loss\n1e6,3.0\n2e6,2.8\n4e6,2.66\n8e6,2.56\n16e6,2.49\n32e6,4.5\n")
        let fit = try nanolm(["fit", "--input", input, "--holdout-largest", "1", "--json"])
        XCTAssertEqual(fit.status, 1)
        XCTAssertTrue(fit.err.contains("do not fall with size"), fit.err)
        let result = try json(fit.out)
        XCTAssertNotNil(result["fitError"] as? String)
        let held = try XCTUnwrap((result["backtest"] as? [[String: Double]])?.first)
        XCTAssertEqual(held["predicted"]!, 2.4405084678080398, accuracy: 1e-6)
    }

    /// A saved fit with a covariance of the wrong shape is an error naming the field (it trapped in predict).
    func testDamagedSavedFitIsAnError() throws {
        let saved = try write("fit.json", #"{"law": "mu", "a": 3.06, "b": -0.028, "c": 0, "standardDeviations": [0.2, 0.0056, 0], "covariance": [[0.04]], "#
            + #""n": 2, "rmse": 0.017, "parameters": [5e4, 9e4], "losses": [2.24, 2.21]}"#)
        let predict = try nanolm(["predict", "--fit", saved, "1e6"])
        XCTAssertEqual(predict.status, 1)
        XCTAssertTrue(predict.err.contains("covariance"), predict.err)
    }
}

extension FitCommandTests {
    /// Issue 20 item 12: a study's result.json whose fit has a covariance of the wrong shape made `study
    /// report` trap (index out of range); it is now an error naming the field.
    func testStudyReportWithADamagedFitIsAnError() throws {
        let fit = #"{"a": 3.06, "b": -0.028, "c": 0, "standardDeviations": [0.2, 0.0056, 0], "covariance": [[0.04]], "#
            + #""n": 2, "rmse": 0.017, "parameters": [5e4, 9e4], "losses": [2.24, 2.21]}"#
        let best = #"{"learningRate": 0.004, "initStd": 0.02, "outputMultiplier": 1}"#
        let result = #"{"study": "tiny", "targetWidth": 128, "outcomes": [{"design": "gpt", "best": \#(best), "basin": [], "#
            + #""fit": \#(fit), "backtest": [], "targetParameters": 1776640}], "ranking": [], "costRatioEquation1": 1, "#
            + #""costRatioCounted": 1, "runs": []}"#
        _ = try write("result.json", result)
        let study = try write("study.yaml", StudyTests.tinyYAML())
        let report = try nanolm(["study", "report", study, "--dir", directory.path])
        XCTAssertEqual(report.status, 1, report.err)  // an error, not a trap (132)
        XCTAssertTrue(report.err.contains("covariance") && report.err.contains("result.json"), report.err)
    }
}
