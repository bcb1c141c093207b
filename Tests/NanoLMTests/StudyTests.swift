import XCTest
import ScalingLaws
@testable import NanoLM

/// The study end to end on synthetic tokens, CI-sized: phases, idempotence, interruption, divergence, bad files.
final class StudyTests: ScratchDirectoryTestCase {
    func write(_ yaml: String, name: String = "study.yaml") throws -> URL {
        let url = root.appendingPathComponent(name)
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Synthetic tokens are uniform noise: after 6 steps the held-out loss has no trend in width, so these studies
    /// fit the training window (`budget.fitLoss`); the default, the validation loss, is checked on fakes in
    /// StudyStepsTests and on real text by the README's main job.
    static func tinyYAML(learningRates: String = "[0.003, 0.03, 30]", steps: Int = 6, options: String = "") -> String {
        """
        name: tiny
        data: synthetic
        vocabularySize: 128
        baseWidth: 32
        designs:
          - {name: gpt, architecture: gpt, layers: 1, headDim: 16}
        grid:
          learningRates: \(learningRates)
        proxyWidths: [32, 48, 64, 80]
        targetWidth: 128
        budget: {steps: \(steps), batchSize: 4, sequenceLength: 16, warmupSteps: 1, lossWindow: 2, checkpointEvery: 2, fitLoss: trainingWindow, evaluations: 2}
        \(options)
        """
    }

    func runStudy(_ file: URL, directory: URL) throws -> (StudyResult, [String]) {
        var lines: [String] = []
        let runner = try StudyRunner(spec: try StudySpec.load(file), file: file.path, directory: directory, log: { lines.append($0) })
        return (try runner.run(), lines)
    }

    /// Every phase runs; the diverged grid point is never chosen; the fit is the μScaling fit of the proxies'
    /// recorded losses against their counted parameters; the cost is Eq. (1) by hand.
    func testTinyStudyEndToEnd() throws {
        let file = try write(Self.tinyYAML(options: "options: {transferCheckWidths: [48]}"))
        let (result, lines) = try runStudy(file, directory: root.appendingPathComponent("s"))
        // The transfer check ran the grid at width 48 too; it is not in the cost (checked below by Eq. 1).
        XCTAssertEqual(result.runs.filter { $0.phase == .grid && $0.width == 48 }.count, 3)
        for phase in ["(1)", "(2)", "(3)", "(4)", "(6)", "(7)", "(8)"] {
            XCTAssertTrue(lines.contains { $0.hasPrefix("== \(phase)") }, "phase \(phase) missing from the output")
        }
        let outcome = try XCTUnwrap(result.outcomes.first)
        XCTAssertNotEqual(outcome.best.learningRate, 30, "a diverged grid point was chosen")
        let diverged = result.runs.filter { $0.status == .diverged && $0.width == 32 }
        XCTAssertEqual(diverged.map(\.hyper.learningRate), [30])

        // The proxies, read back from their own summary.json files, refitted here.
        var sizes: [Double] = [], losses: [Double] = []
        for w in [32, 48, 64, 80] {
            let run = try XCTUnwrap(result.runs.first { $0.width == w && $0.hyper == outcome.best })
            let summary = try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: URL(fileURLWithPath: run.directory + "/summary.json")))
            var config = ModelConfig(architecture: .gpt, layers: 1, width: w, vocabularySize: 128, sequenceLength: 16, headDim: 16)
            config.tiedEmbeddings = false
            XCTAssertEqual(run.parameters, try config.parameterCounts().scaling)
            sizes.append(Double(run.parameters))
            losses.append(try XCTUnwrap(summary.recorded.last?.trainLoss))  // tinyYAML fits the training window
        }
        let fit = try fitMuScaling(parameters: sizes, losses: losses)
        let prediction = try XCTUnwrap(outcome.prediction)
        XCTAssertEqual(try XCTUnwrap(outcome.fit).b, fit.b, accuracy: 1e-12)
        XCTAssertEqual(prediction.loss, fit.loss(at: Double(prediction.targetParameters)), accuracy: 1e-12)
        XCTAssertNotNil(prediction.actual, "the target was not trained")

        // Eq. (1): 3 grid runs at 32 and proxies at 48, 64, 80 (32 is shared with the grid), over one target at 128.
        func m(_ w: Double) -> Double { 96 * 4 * 16 * 1 * w * w * (1 + 16 / (6 * w) + 128 / (16 * 1 * w)) }
        XCTAssertEqual(result.costRatioEquation1, (3 * m(32) + m(48) + m(64) + m(80)) / m(128), accuracy: 1e-9)

        // The report is written from the result and names the design and the verdict.
        let html = StudyReport.html(result, spec: try StudySpec.load(file))
        XCTAssertTrue(html.contains("<svg") && html.contains("predicted loss at width 128"))
        XCTAssertTrue(html.contains("gpt width 32") && html.contains("gpt width 48"), "Figure 1 needs one line per width")
    }

    /// A second `study run` trains nothing and gives the same result.
    func testRerunTrainsNothing() throws {
        let file = try write(Self.tinyYAML())
        let dir = root.appendingPathComponent("s")
        let (first, _) = try runStudy(file, directory: dir)
        let (second, lines) = try runStudy(file, directory: dir)
        let trained = lines.filter { $0.contains("to train") }
        XCTAssertEqual(trained.count, 3)
        XCTAssertTrue(trained.allSatisfy { $0.hasSuffix(" 0 to train") }, "\(trained)")
        XCTAssertEqual(first.outcomes[0].prediction?.loss, second.outcomes[0].prediction?.loss)
        XCTAssertEqual(first.outcomes[0].targetLoss, second.outcomes[0].targetLoss)
    }

    /// A study interrupted mid-run (a proxy's run stopped at a checkpoint, as Ctrl-C leaves it) and run again
    /// completes with exactly the results of an uninterrupted study.
    func testInterruptedStudyResumesToTheSameResult() throws {
        let file = try write(Self.tinyYAML(steps: 8))
        let (clean, _) = try runStudy(file, directory: root.appendingPathComponent("clean"))

        // Interrupt: run the grid and one proxy for 4 of its 8 steps, as a killed study would leave them.
        let dir = root.appendingPathComponent("killed")
        let spec = try StudySpec.load(file)
        let runner = try StudyRunner(spec: spec, file: file.path, directory: dir, log: { _ in })
        let design = spec.designs[0]
        let grid = try spec.gridPoints.map { try runner.plan(design, width: 32, hyper: $0, phase: .grid) }
        try runner.execute(grid, executor: InProcessExecutor(), phase: .grid)
        let best = clean.outcomes[0].best
        let proxy = try runner.plan(design, width: 64, hyper: best, phase: .proxy)
        // Ctrl-C after step 4: the trainer checkpoints and stops, as in an interrupted `nanolm study run`.
        let trainer = try Trainer(config: proxy.config, model: try makeModel(proxy.config.model, seed: proxy.config.seed),
                                  data: try openTrainingData(spec.data, config: proxy.config), directory: URL(fileURLWithPath: proxy.directory))
        let stopped = try trainer.run { if $0.step == 4 { StopRequest.isRequested = true } }
        StopRequest.isRequested = false
        XCTAssertEqual(stopped.status, .interrupted)
        XCTAssertEqual(stopped.steps, 4)
        // The resumed run must continue from the checkpoint at step 4, not restart.
        let (resumed, _) = try runStudy(file, directory: dir)
        XCTAssertEqual(resumed.outcomes[0].prediction?.loss, clean.outcomes[0].prediction?.loss)
        XCTAssertNotNil(resumed.outcomes[0].targetLoss)
        XCTAssertEqual(resumed.outcomes[0].targetLoss, clean.outcomes[0].targetLoss)
        let losses = { (r: StudyResult) in r.runs.sorted { $0.directory < $1.directory }.map { $0.loss } }
        XCTAssertEqual(losses(resumed), losses(clean))
        // The interrupted proxy resumed from its step-4 checkpoint: its metrics hold each step once.
        let steps = try String(contentsOfFile: proxy.directory + "/metrics.jsonl", encoding: .utf8)
            .split(separator: "\n").filter { $0.contains("\"loss\"") }.count
        XCTAssertEqual(steps, 8)
    }

    /// Two designs: each gets its own grid choice and fit; the ranking orders their predictions.
    func testTwoDesignsAreCompared() throws {
        let yaml = Self.tinyYAML().replacingOccurrences(of: "  - {name: gpt, architecture: gpt, layers: 1, headDim: 16}",
                                                        with: "  - {name: gpt, architecture: gpt, layers: 1, headDim: 16}\n  - {name: llama, architecture: llama, layers: 2, headDim: 16}")
        let (result, lines) = try runStudy(try write(yaml), directory: root.appendingPathComponent("s"))
        XCTAssertEqual(Set(result.outcomes.map(\.design)), ["gpt", "llama"])
        XCTAssertEqual(Set(result.runs.map(\.design)), ["gpt", "llama"])
        let predicted = result.outcomes.filter { $0.prediction != nil }
        XCTAssertEqual(result.ranking, predicted.sorted { $0.prediction!.loss < $1.prediction!.loss }.map(\.design))
        if predicted.count == 2 {
            XCTAssertNotNil(result.intervalsSeparate)
            XCTAssertTrue(lines.contains { $0.contains("is predicted better than") })
        }
        XCTAssertTrue(result.outcomes.allSatisfy { $0.targetLoss != nil })
        // Eq. (1) with each design's own depth (1 and 2 layers), summed over designs, by hand.
        func m(_ l: Double, _ w: Double) -> Double { 96 * 4 * 16 * l * w * w * (1 + 16 / (6 * w) + 128 / (16 * l * w)) }
        let plan = [1.0, 2.0].map { l in 3 * m(l, 32) + m(l, 48) + m(l, 64) + m(l, 80) }.reduce(0, +)
        XCTAssertEqual(result.costRatioEquation1, plan / (m(1, 128) + m(2, 128)), accuracy: 1e-9)
        XCTAssertTrue(StudyReport.html(result, spec: try StudySpec.load(root.appendingPathComponent("study.yaml"))).contains("llama"))
    }

    func testAllDivergedGridIsAClearError() throws {
        let file = try write(Self.tinyYAML(learningRates: "[30, 100]"))
        XCTAssertThrowsError(try runStudy(file, directory: root.appendingPathComponent("s"))) { error in
            XCTAssertTrue(error.localizedDescription.contains("every grid point diverged"), error.localizedDescription)
        }
    }

    func testInvalidFilesNameTheField() throws {
        let cases: [(String, String, String)] = [
            ("architecture: gpt", "architecture: gpt9", "designs"),
            ("proxyWidths: [32, 48, 64, 80]", "proxyWidths: [16, 48, 64, 80]", "proxyWidths"),
            ("learningRates: [0.003, 0.03, 30]", "learningRates: []", "grid.learningRates"),
            ("targetWidth: 128", "targetWidth: 64", "targetWidth"),
            ("baseWidth: 32", "baseWidth: 32\nlearningRate: 3", "learningRate"),
            ("budget: {steps: 6,", "budget: {stepz: 6,", "budget.stepz"),
            ("layers: 1, headDim: 16}", "layers: 1, headdim: 16}", "designs[0].headdim"),
            ("baseWidth: 32", "baseWidth: 32\nseeds: 0", "seeds"),
            ("baseWidth: 32", "baseWidth: 32\nseeds: 65", "seeds"),
            ("budget: {steps: 6,", "budget: {validationTokens: 0, steps: 6,", "budget.validationTokens"),
            ("evaluations: 2}", "evaluations: 7}", "budget.evaluations"),
            ("fitLoss: trainingWindow", "fitLoss: last", "budget.fitLoss"),
        ]
        for (from, to, field) in cases {
            let file = try write(Self.tinyYAML().replacingOccurrences(of: from, with: to), name: "bad.yaml")
            XCTAssertThrowsError(try StudySpec.load(file), field) { error in
                let message = error.localizedDescription
                XCTAssertTrue(message.contains(field) && message.contains("bad.yaml"), "\(field): \(message)")
            }
        }
    }

    /// Every file in examples/ decodes with known fields only and passes validation up to its data
    /// directory, which a fresh clone has not built yet.
    func testExampleFilesLoad() throws {
        let examples = packageRoot.appendingPathComponent("examples")
        let files = try FileManager.default.contentsOfDirectory(at: examples, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }.sorted { $0.path < $1.path }
        XCTAssertGreaterThanOrEqual(files.count, 5)
        for file in files {
            do {
                if file.lastPathComponent.hasPrefix("overtrain") { _ = try OverTrainingSpec.load(file) } else { _ = try StudySpec.load(file) }
            } catch {
                XCTAssertTrue(error.localizedDescription.contains("has no index.json"), "\(file.lastPathComponent): \(error.localizedDescription)")
            }
        }
    }

    /// `options.evaluate`: every finished proxy and target of a causal design is scored on the built-in
    /// tasks once (cached in eval.json); an encoder design is skipped with a note.
    func testStudyScoresProxiesAndTargetsDownstream() throws {
        let (_, shards) = try EvalTaskTests.buildShards(in: root.appendingPathComponent("data"))
        let file = try write("""
            name: downstream
            data: \(shards.path)
            baseWidth: 32
            designs:
              - {name: gpt, architecture: gpt, layers: 1, headDim: 16}
              - {name: bert, architecture: bert, layers: 1, headDim: 16}
            grid: {learningRates: [0.003, 0.03]}
            proxyWidths: [32, 48, 64, 80]
            targetWidth: 96
            budget: {steps: 4, batchSize: 2, sequenceLength: 16, warmupSteps: 1, lossWindow: 2, checkpointEvery: 2}
            options: {evaluate: 8}
            """)
        let (result, lines) = try runStudy(file, directory: root.appendingPathComponent("s"))
        let gpt = try XCTUnwrap(result.outcomes.first { $0.design == "gpt" }?.downstream)
        XCTAssertEqual(gpt.map(\.width), [32, 48, 64, 80, 96])
        XCTAssertEqual(gpt.map(\.phase), [.proxy, .proxy, .proxy, .proxy, .target])
        XCTAssertTrue(gpt.allSatisfy { (0 ... 1).contains($0.error) && $0.standardError > 0 })
        XCTAssertNil(result.outcomes.first { $0.design == "bert" }?.downstream)
        XCTAssertTrue(lines.contains { $0.contains("bert: bert is not a causal model") }, lines.joined(separator: "\n"))
        // The score is the evaluator's: the target scored directly equals the study's number.
        let target = try XCTUnwrap(result.runs.first { $0.design == "gpt" && $0.phase == .target })
        let scorer = try RunScorer(data: shards, itemsPerTask: 8, seed: 0)
        let checkpoint = try EvalCheckpoint(directory: URL(fileURLWithPath: target.directory))
        let report = try Evaluator().evaluate(scorer.tasks, scorer: ModelScorer(model: checkpoint.model, codec: scorer.codec))
        XCTAssertEqual(gpt.last!.error, report.error(.accToken), accuracy: 1e-12)
        // A rerun trains and scores nothing again.
        let (_, again) = try runStudy(file, directory: root.appendingPathComponent("s"))
        XCTAssertEqual(again.filter { $0.contains(" error ") && !$0.contains("(cached)") && $0.contains("width") }, [])
    }
}
