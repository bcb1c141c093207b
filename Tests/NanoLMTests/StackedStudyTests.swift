import XCTest
@testable import NanoLM

/// `options.stackGrid`: a study trains its grid's same-shape points as one stacked model where asked, and
/// its grid then measures what the same study measures run by run (within float32 rounding); encoder
/// designs and `off` train one by one, and the log says which.
final class StackedStudyTests: ScratchDirectoryTestCase {
    /// Plans and trains the tiny study's grid only (the later phases do not depend on how it trained).
    func trainGrid(stackGrid: String, architecture: String = "gpt", name: String) throws -> ([StoredRun], [String]) {
        let yaml = StudyTests.tinyYAML(options: "options: {stackGrid: \(stackGrid)}")
            .replacingOccurrences(of: "architecture: gpt", with: "architecture: \(architecture)")
        let file = root.appendingPathComponent("\(name).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        var lines: [String] = []
        let spec = try StudySpec.load(file)
        let runner = try StudyRunner(spec: spec, file: file.path, directory: root.appendingPathComponent(name), log: { lines.append($0) })
        let runs = try spec.gridPoints.map { try runner.plan(spec.designs[0], width: spec.baseWidth, hyper: $0, phase: .grid) }
        try runner.execute(runs, executor: InProcessExecutor(), phase: .grid)
        let stored = try runner.storedRuns()
        return (try runs.map { try XCTUnwrap(stored[$0.id]) }, lines)
    }

    func testStackedGridMeasuresWhatTheGridRunByRunMeasures() throws {
        let (stacked, stackedLog) = try trainGrid(stackGrid: "on", name: "on")
        let (alone, aloneLog) = try trainGrid(stackGrid: "off", name: "off")
        XCTAssertTrue(stackedLog.contains("[grid] 3 runs of one shape train together as one stacked model (options.stackGrid on)"), "\(stackedLog)")
        XCTAssertEqual(stackedLog.filter { $0.contains("(stacked, ") }.count, 3)
        XCTAssertFalse(aloneLog.contains { $0.contains("(stacked, ") || $0.contains("stacked model") })
        XCTAssertEqual(stacked.map(\.status), [.done, .done, .diverged])  // lr 30 diverges, stacked or not
        XCTAssertEqual(stacked.map(\.status), alone.map(\.status))
        for (a, b) in zip(stacked, alone) where a.status == .done {
            XCTAssertEqual(try XCTUnwrap(a.loss), try XCTUnwrap(b.loss), accuracy: 1e-5, "lr \(a.hyper.learningRate)")
        }
        let stackedSteps = try stacked.map { try XCTUnwrap(RunDirectory(path: $0.directory).readSummary()).steps }
        XCTAssertEqual(stackedSteps, try alone.map { try XCTUnwrap(RunDirectory(path: $0.directory).readSummary()).steps })
    }

    func testEncoderGridTrainsOneByOneAndSaysSo() throws {
        let (_, log) = try trainGrid(stackGrid: "on", architecture: "bert", name: "bert")
        XCTAssertTrue(log.contains { $0.hasPrefix("[grid] 3 runs of one shape train one by one: bert runs train one by one") }, "\(log)")
    }

    func testUnknownChoiceNamesTheField() throws {
        let file = root.appendingPathComponent("bad.yaml")
        try StudyTests.tinyYAML(options: "options: {stackGrid: maybe}").write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try StudySpec.load(file)) { error in
            XCTAssertTrue(error.localizedDescription.contains("stackGrid") && error.localizedDescription.contains("bad.yaml"),
                          error.localizedDescription)
        }
    }
}
