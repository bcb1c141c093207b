import XCTest
@testable import ScalingLaws

/// `nanolm fit --input`: CSV and JSON points; every bad cell names file, line and column.
final class PointsFileTests: XCTestCase {
    func read(_ text: String, ext: String = "csv") throws -> [[Double]] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("points-\(UUID().uuidString).\(ext)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try PointsFile.read(url, columns: ["params", "loss"])
    }

    func testCSVAndJSONKeepTheNamedColumns() throws {
        XCTAssertEqual(try read("name,loss,params\nx,3.5,1e6\n# a comment\ny,3.25,2000000\n"), [[1e6, 3.5], [2e6, 3.25]])
        XCTAssertEqual(try read("[{\"params\": 1e6, \"loss\": 3.5, \"w\": 64}, {\"params\": 2e6, \"loss\": 3.25}]", ext: "json"),
                       [[1e6, 3.5], [2e6, 3.25]])
    }

    func testBadCellsNameLineAndColumn() {
        let cases: [(String, Int, String)] = [
            ("params,loss\n1e6,3.5\n2e6,abc\n", 3, "loss"),
            ("params,loss\n1e6,3.5\n-2e6,3.1\n", 3, "params"),
            ("params,loss\n1e6,nan\n", 2, "loss"),
            ("params,loss\n1e6,inf\n", 2, "loss"),
            ("params,loss\n1e6,3.5\n2e6\n", 3, "-"),
            ("params,lost\n1e6,3.5\n", 1, "loss"),
        ]
        for (text, line, column) in cases {
            XCTAssertThrowsError(try read(text), text) { error in
                guard case let .badInput(_, l, c, _) = error as? ScalingLawError else { return XCTFail("\(error)") }
                XCTAssertEqual(l, line, text)
                XCTAssertEqual(c, column, text)
            }
        }
    }
}

extension PointsFileTests {
    /// `nanolm fit --law mu --sigma sd`: the sigma column is read like the others and weights the fit as
    /// curve_fit's sigma does (scipy golden synthetic_2 of Fixtures/mu_scaling.json, 1e-6 relative).
    func testSigmaColumnWeightsAsCurveFit() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/mu_scaling", withExtension: "json"))
        let golden = try XCTUnwrap(try JSONDecoder().decode([MuScalingTests.Golden].self, from: Data(contentsOf: url)).first { $0.name == "synthetic_2" })
        let sigma = try XCTUnwrap(golden.sigma)
        var csv = "params,loss,sd\n"
        for i in golden.sizes.indices { csv += "\(golden.sizes[i]),\(golden.losses[i]),\(sigma[i])\n" }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sigma-\(UUID().uuidString).csv")
        try csv.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let rows = try PointsFile.read(file, columns: ["params", "loss", "sd"])
        let fit = try fitMuScaling(parameters: rows.map { $0[0] }, losses: rows.map { $0[1] }, sigma: rows.map { $0[2] })
        for i in 0..<3 {
            XCTAssertEqual(fit.coefficients[i], golden.popt[i], accuracy: 1e-6 * abs(golden.popt[i]))
            XCTAssertEqual(fit.standardDeviations[i], golden.perr[i], accuracy: 1e-6 * golden.perr[i])
        }
        // Unweighted, the same points give another fit: the column is not ignored.
        let plain = try fitMuScaling(parameters: rows.map { $0[0] }, losses: rows.map { $0[1] })
        XCTAssertGreaterThan(abs(plain.b - golden.popt[1]), 1e-6 * abs(golden.popt[1]))
    }
}
