import XCTest

/// A fit saved by `nanolm fit --save` records its law; `nanolm predict` reads the law from the file instead
/// of guessing, and a file without one is an error that says what to do.
final class SavedFitLawTests: XCTestCase {
    func testSavedFitRecordsItsLaw() throws {
        let nanolm = try builtNanolm()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saved-fit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("errors.csv")
        let rows = [2.0, 2.2, 2.4, 2.6, 2.8, 3.0].map { String(format: "%.1f,%.15f", $0, 0.75 - 2 * exp(-$0)) }
        try ("loss,err\n" + rows.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        let saved = directory.appendingPathComponent("fit.json")
        let (status, err) = try RunDirectoryTests.run(nanolm, ["fit", "--law", "downstream", "--input", input.path, "--save", saved.path])
        XCTAssertEqual(status, 0, err)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: saved)) as? [String: Any])
        XCTAssertEqual(object["law"] as? String, "downstream")

        // The same coefficients without "law": refused, with the way out.
        var unnamed = object
        unnamed["law"] = nil
        let old = directory.appendingPathComponent("old.json")
        try JSONSerialization.data(withJSONObject: unnamed).write(to: old)
        let (oldStatus, oldErr) = try RunDirectoryTests.run(nanolm, ["predict", "--fit", old.path, "2.0"])
        XCTAssertEqual(oldStatus, 1, oldErr)
        XCTAssertTrue(oldErr.contains("old.json") && oldErr.contains("law"), oldErr)
        XCTAssertFalse(oldErr.contains("USAGE"), oldErr)
    }
}
