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
        let process = Process()
        process.executableURL = try builtNanolm()
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
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
