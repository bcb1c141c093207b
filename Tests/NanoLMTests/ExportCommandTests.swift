import Foundation
import XCTest
@testable import NanoLM

/// `nanolm export` as a user runs it: a run trained on a BPE track, and a study's run, exported and
/// verified with transformers (`--verify`), plus the errors for a wrong step and a directory that is no run.
final class ExportCommandTests: ScratchDirectoryTestCase {
    /// Runs the binary in `root`; returns (status, stdout + stderr).
    @discardableResult
    func nanolm(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = try builtNanolm()
        process.arguments = arguments
        process.currentDirectoryURL = root
        var environment = ProcessInfo.processInfo.environment
        if environment["NANOLM_PYTHON"] == nil { environment["NANOLM_PYTHON"] = packageRoot.appendingPathComponent(".venv/bin/python").path }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    func requirePython() throws {
        let python = ProcessInfo.processInfo.environment["NANOLM_PYTHON"] ?? packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no Python with transformers: run scripts/test.sh") }
    }

    /// The JSON report of `export … --json`.
    struct Output: Decodable {
        var export: HFExport.Report
        var verification: ExportCheck.Result?
    }

    func decode(_ output: String) throws -> Output {
        let json = try XCTUnwrap(output.range(of: "{").map { String(output[$0.lowerBound...]) }, output)
        return try JSONDecoder().decode(Output.self, from: Data(json.utf8))
    }

    func testRunOnABPETrackExportsAndVerifies() throws {
        try requirePython()
        let text = root.appendingPathComponent("text")
        try FileManager.default.createDirectory(at: text, withIntermediateDirectories: true)
        let corpus = Bundle.module.url(forResource: "Fixtures/tokenizer/corpus", withExtension: "txt")!
        try FileManager.default.copyItem(at: corpus, to: text.appendingPathComponent("a.txt"))
        try """
            {"name": "tiny", "tokens": 20000, "validationTokens": 2000, "seed": 1, "domains": [
              {"name": "text", "proportion": 1, "sources": [{"paths": ["text"], "extensions": [".txt"], "split": "paragraphs"}]}]}
            """.write(to: root.appendingPathComponent("track.json"), atomically: true, encoding: .utf8)
        var (status, output) = try nanolm(["data", "build", "--track", "track.json", "--out", "data", "--vocab", "384"])
        XCTAssertEqual(status, 0, output)
        (status, output) = try nanolm(["train", "--arch", "llama", "--layers", "1", "--width", "32", "--head-dim", "8", "--vocab", "384",
                                       "--seq-len", "16", "--param", "mup", "--base-width", "16", "--output-mult", "3", "--steps", "4",
                                       "--batch", "2", "--data", "data", "--out", "run"])
        XCTAssertEqual(status, 0, output)

        (status, output) = try nanolm(["export", "run", "--out", "hf", "--verify", "--json"])
        XCTAssertEqual(status, 0, output)
        let result = try decode(output)
        XCTAssertEqual(result.export.modelClass, "LlamaForCausalLM")
        XCTAssertNil(result.export.tokenizerNote)
        XCTAssert(result.export.files.contains("tokenizer.json") && result.export.files.contains("merges.txt"), "\(result.export.files)")
        let verification = try XCTUnwrap(result.verification)
        XCTAssert(verification.passed, "\(verification.problems)")
        XCTAssertEqual(verification.tokenizerOK, true)
        XCTAssertLessThanOrEqual(verification.maxRelDiff, 1e-5)
        let card = try String(contentsOf: root.appendingPathComponent("hf/README.md"), encoding: .utf8)
        XCTAssert(card.contains("4 of 4 steps") && card.contains("final training loss") && card.contains("q_proj.weight") == false, card)
        XCTAssert(card.contains("μP") && card.contains("lm_head.weight multiplied by"), card)

        (status, output) = try nanolm(["export", "run", "--out", "hf"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(output.contains("not empty") && output.contains("--force"), output)
        (status, output) = try nanolm(["export", "run", "--out", "hf2", "--step", "3"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(output.contains("from step 4, not 3"), output)
        (status, output) = try nanolm(["export", "data", "--out", "hf3"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(output.contains("no config.json"), output)
    }

    func testStudyRunExportsByDesignAndWidth() throws {
        try requirePython()
        let file = root.appendingPathComponent("study.yaml")
        try StudyTests.tinyYAML(learningRates: "[0.01]", steps: 3).write(to: file, atomically: true, encoding: .utf8)
        let runner = try StudyRunner(spec: try StudySpec.load(file), file: file.path, directory: root.appendingPathComponent("s"), log: { _ in })
        _ = try runner.run()

        var (status, output) = try nanolm(["export", "--study", "study.yaml", "--dir", "s", "--design", "gpt", "--width", "64",
                                           "--out", "hf", "--verify", "--json", "--dtype", "bfloat16"])
        XCTAssertEqual(status, 0, output)
        let result = try decode(output)
        XCTAssertEqual(result.export.modelClass, "GPT2LMHeadModel")
        XCTAssertEqual(result.export.readoutFactor, 1 * 32.0 / 64, "τ/r with τ = 1, r = 64/32")
        XCTAssert(try XCTUnwrap(result.verification).logitsOK)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("hf/config.json"))) as? [String: Any]
        XCTAssertEqual(config?["n_embd"] as? Int, 64)
        XCTAssertEqual(config?["torch_dtype"] as? String, "bfloat16")

        (status, output) = try nanolm(["export", "--study", "study.yaml", "--dir", "s", "--design", "gpt", "--width", "96", "--out", "hf4"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(output.contains("no finished run at width 96") && output.contains("32, 48, 64, 80, 128"), output)
    }
}
