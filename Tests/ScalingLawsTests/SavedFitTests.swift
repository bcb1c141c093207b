import XCTest
@testable import ScalingLaws

/// Saved fits (`nanolm fit --save`, a study's result.json) are checked when read (issue 20 item 12): a wrong
/// shape is an error naming the field, not an index out of range in `predict` or `study report`.
final class SavedFitTests: XCTestCase {
    let good = #"{"a": 3.06, "b": -0.0284, "c": 0, "cAtBound": true, "standardDeviations": [0.2, 0.0056, 0], "#
        + #""covariance": [[0.04, -0.001, 0], [-0.001, 3.1e-5, 0], [0, 0, 0]], "n": 4, "rmse": 0.017, "#
        + #""parameters": [5e4, 9e4, 1.5e5, 3e5], "losses": [2.24, 2.21, 2.2, 2.11]}"#

    func decode(_ json: String) throws -> MuScalingFit { try JSONDecoder().decode(MuScalingFit.self, from: Data(json.utf8)) }

    func testGoodFitRoundTrips() throws {
        let fit = try decode(good)
        XCTAssertTrue(fit.cAtBound)
        XCTAssertEqual(try decode(String(decoding: try JSONEncoder().encode(fit), as: UTF8.self)), fit)
        // Saved before cAtBound existed: read as c free.
        XCTAssertFalse(try decode(good.replacingOccurrences(of: #""cAtBound": true, "#, with: "")).cAtBound)
    }

    func testWrongShapesAreErrorsNamingTheField() {
        let cases: [(String, String, String)] = [
            (#""covariance": [[0.04, -0.001, 0], [-0.001, 3.1e-5, 0], [0, 0, 0]]"#, #""covariance": [[0.04]]"#, "covariance"),
            (#""covariance": [[0.04, -0.001, 0], [-0.001, 3.1e-5, 0], [0, 0, 0]]"#, #""covariance": [[0.04, 1, 2], [1], [0, 0, 0]]"#, "covariance"),
            (#""standardDeviations": [0.2, 0.0056, 0]"#, #""standardDeviations": []"#, "standardDeviations"),
            (#""n": 4"#, #""n": 9"#, "parameters"),
            (#""parameters": [5e4, 9e4, 1.5e5, 3e5], "losses": [2.24, 2.21, 2.2, 2.11]"#, #""parameters": [], "losses": []"#, "parameters"),
            (#""n": 4"#, #""n": -1"#, "n"),
        ]
        for (from, to, field) in cases {
            let json = good.replacingOccurrences(of: from, with: to)
            XCTAssertNotEqual(json, good, "the case must change the file")
            XCTAssertThrowsError(try decode(json), to) { error in
                guard case let .dataCorrupted(context) = error as? DecodingError else { return XCTFail("\(error)") }
                XCTAssertEqual(context.codingPath.last?.stringValue, field, to)
            }
        }
    }

    /// A law built by hand with a wrong shape gives NaN, not a trap (the decoder is not the only way in).
    func testWrongShapeNeverTraps() {
        let fit = DownstreamFit(epsilon: 0.8, k: 2, gamma: 1, covariance: [[1]], n: 5, rmse: 0)
        XCTAssertTrue(fit.standardError(at: 3).isNaN)
        XCTAssertTrue(fit.interval(at: 3).lower.isNaN)
    }
}
