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

/// Files as people write them (issue 20 item 6): each case is a reproducer that failed before.
extension PointsFileTests {
    func testCRLFAndByteOrderMarkAreRead() throws {
        // Was "no data rows" (CRLF) and "missing column" (BOM).
        XCTAssertEqual(try read("params,loss\r\n1e6,3.5\r\n2e6,3.25\r\n"), [[1e6, 3.5], [2e6, 3.25]])
        XCTAssertEqual(try read("\u{FEFF}params,loss\n1e6,3.5\n"), [[1e6, 3.5]])
        XCTAssertEqual(try read("\u{FEFF}params,loss\r\n1e6,3.5\r\n# note\r\n\r\n2e6,3.25"), [[1e6, 3.5], [2e6, 3.25]])
        XCTAssertEqual(try read("\u{FEFF}[{\"params\": 1e6, \"loss\": 3.5}]", ext: "json"), [[1e6, 3.5]])
    }

    func testQuotedFieldsPerRFC4180() throws {
        // A quoted field with a comma was "3 cells, the header has 2".
        XCTAssertEqual(try read("name,params,loss\n\"gpt, small\",1e6,3.5\n\"say \"\"hi\"\"\",2e6,3.25\n"), [[1e6, 3.5], [2e6, 3.25]])
        // A quoted field may span lines; the next record's line number counts them.
        XCTAssertThrowsError(try read("name,params,loss\n\"two\nlines\",1e6,3.5\nx,2e6,bad\n")) { error in
            guard case let .badInput(_, line, column, _) = error as? ScalingLawError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 4); XCTAssertEqual(column, "loss")
        }
        XCTAssertThrowsError(try read("params,loss\n\"1e6,3.5\n")) { error in
            guard case let .badInput(_, line, _, reason) = error as? ScalingLawError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 2); XCTAssertTrue(reason.contains("never closed"), reason)
        }
    }

    func testSizesWithSuffixes() throws {
        // "125m" and "2.8B" were "not a number".
        XCTAssertEqual(try read("params,loss\n125m,3.5\n2.8B,3.25\n1.5k,3.9\n"), [[125e6, 3.5], [2.8e9, 3.25], [1500, 3.9]])
        XCTAssertEqual(try read("[{\"params\": \"125M\", \"loss\": 3.5}]", ext: "json"), [[125e6, 3.5]])
        // Losses take no suffix: 2.5m is not a loss.
        XCTAssertThrowsError(try read("params,loss\n1e6,2.5m\n")) { error in
            guard case .badInput(_, 2, "loss", _) = error as? ScalingLawError else { return XCTFail("\(error)") }
        }
    }

    func testJSONNumbersAreStrict() {
        // `true` was read as 1 and "1.9" as 1.9.
        let cases: [(String, Int, String)] = [
            ("[{\"params\": 1e6, \"loss\": 3.5},\n {\"params\": 2e6, \"loss\": true}]", 2, "loss"),
            ("[{\"params\": 1e6, \"loss\": \"1.9\"}]", 1, "loss"),
            ("[\n{\"params\": 1e6, \"loss\": 3.5},\n\n{\"params\": null, \"loss\": 3.1}]", 4, "params"),
            ("[{\"params\": [1], \"loss\": 3.5}]", 1, "params"),
        ]
        for (text, line, column) in cases {
            XCTAssertThrowsError(try read(text, ext: "json"), text) { error in
                guard case let .badInput(_, l, c, _) = error as? ScalingLawError else { return XCTFail("\(error)") }
                XCTAssertEqual(l, line, text); XCTAssertEqual(c, column, text)
            }
        }
        XCTAssertThrowsError(try read("[1, 2]", ext: "json"))
        XCTAssertThrowsError(try read("params,loss,params\n1,2,3\n"))  // a column named twice
    }
}
