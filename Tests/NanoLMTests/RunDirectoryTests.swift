import XCTest
@testable import NanoLM

/// The run directory's quiet failures made loud: a resumed run without data.txt, unreadable metrics lines.
final class RunDirectoryTests: ScratchDirectoryTestCase {
    func testResumeWithoutDataFileIsAnError() throws {
        let run = RunDirectory(root)
        XCTAssertThrowsError(try run.data(given: nil)) { error in
            XCTAssertTrue("\(error)".contains("data.txt") && "\(error)".contains("--data"), "\(error)")
        }
        XCTAssertEqual(try run.data(given: "synthetic"), "synthetic")
        try run.writeData("/data/nano")
        XCTAssertEqual(try run.data(given: nil), "/data/nano")
    }

    /// `nanolm train --resume DIR` of a run whose data.txt is gone: exit status 1, a message naming data.txt,
    /// and no training (no metrics written).
    func testResumedTrainWithoutDataFileExitsNonZero() throws {
        let nanolm = try builtNanolm()
        let run = RunDirectory(root.appendingPathComponent("run"))
        try run.create()
        try run.writeConfig(TrainingConfig(model: ModelConfig(architecture: .gpt, layers: 1, width: 32, vocabularySize: 64, sequenceLength: 16,
                                                              headDim: 16), steps: 2, batchSize: 2))
        let (status, err) = try Self.run(nanolm, ["train", "--resume", run.path])
        XCTAssertEqual(status, 1, err)
        XCTAssertTrue(err.contains("data.txt"), err)
        XCTAssertFalse(err.contains("USAGE"), err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.metricsURL.path))
    }

    /// A line cut short by a kill is dropped on resume and counted (its step is trained again).
    func testUnreadableMetricsLinesAreCounted() throws {
        let url = root.appendingPathComponent("metrics.jsonl")
        try "{\"step\":1,\"loss\":3}\n{\"step\":2,\"lo\n{\"step\":3,\"loss\":2}\n{\"step\":4,\"loss\":1}\n".write(to: url, atomically: true, encoding: .utf8)
        let log = try MetricsLog(url: url, keepingStepsThrough: 3)
        XCTAssertEqual(log.dropped, [2])
        XCTAssertEqual(log.droppedWarning, "\(url.path): 1 unreadable line(s) dropped on resume (first: line 2); their steps are trained again")
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "{\"step\":1,\"loss\":3}\n{\"step\":3,\"loss\":2}\n")
    }

    /// Runs a binary; (exit status, standard error). Standard output goes to /dev/null.
    static func run(_ executable: URL, _ arguments: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, try String(contentsOf: errURL, encoding: .utf8))
    }
}
