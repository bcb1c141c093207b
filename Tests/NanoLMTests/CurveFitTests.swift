import XCTest
import ScalingLaws
@testable import NanoLM

/// Learning curves in a study's fit (issue 16, item 4): the points read from metrics.jsonl, and a study
/// whose runs' curves follow a known law L(N, D) predicts the target from it (`options.fitOn: learningCurves`).
final class CurveFitTests: ScratchDirectoryTestCase {
    /// Windows of 2 steps ending at the last step, from 20% of 10 steps on (step 2): [9, 10], [7, 8], [5, 6],
    /// [3, 4]; D is the window's mean tokens. Validation and diverged lines are not training points.
    func testPointsAreWindowMeansFromMetrics() throws {
        let url = root.appendingPathComponent("metrics.jsonl")
        var lines = (1...10).map { "{\"step\": \($0), \"loss\": \(3 - 0.1 * Double($0)), \"tokens\": \(100 * $0), \"lr\": 0.01}" }
        lines.insert("{\"step\": 10, \"val_loss\": 9.5}", at: 10)
        lines.append("{\"step\": 11, \"loss\": 7, \"diverged\": true}")
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        let points = try learningCurve(metrics: url, run: 4, parameters: 1000, steps: 10, window: 2, from: 0.2)
        XCTAssertEqual(points.map(\.tokens), [350, 550, 750, 950])
        for (p, loss) in zip(points, [2.65, 2.45, 2.25, 2.05]) { XCTAssertEqual(p.loss, loss, accuracy: 1e-12) }
        XCTAssertTrue(points.allSatisfy { $0.run == 4 && $0.parameters == 1000 })
        XCTAssertThrowsError(try learningCurve(metrics: root.appendingPathComponent("none.jsonl"), run: 0, parameters: 1, steps: 10,
                                               window: 2, from: 0.1)) { XCTAssertTrue("\($0.localizedDescription)".contains("none.jsonl")) }
    }

    /// Validation points from 25% of 8 steps on (step 2), in step order, D the tokens seen; a non-finite
    /// loss and a step past the run's steps are no points.
    func testValidationPointsFromAFraction() {
        let evaluations = [(4, 2.4), (1, 3.0), (2, 2.7), (3, .nan), (8, 2.1), (9, 2.0)].map {
            ValidationPoint(step: $0.0, tokens: 100 * $0.0, loss: $0.1, standardError: nil, targets: 10, checksum: "0")
        }
        let points = validationCurve(evaluations, run: 3, parameters: 500, steps: 8, from: 0.25)
        XCTAssertEqual(points.map(\.tokens), [200, 400, 800])
        XCTAssertEqual(points.map(\.loss), [2.7, 2.4, 2.1])
        XCTAssertTrue(points.allSatisfy { $0.run == 3 && $0.parameters == 500 })
    }

    /// Writes each run's metrics.jsonl from L(N, D) = 2 + 30/N^0.4 + 8/D^0.3 (N its counted parameters, D its
    /// tokens seen) and its summary.json with the final loss, as a trained run would; its evaluations on the
    /// validation set, one per step, follow the same law plus `validationOffset`, so a fit says which it read.
    /// With `finalLoss` the final validation loss a run records is that function of N instead (its curve still
    /// follows the law).
    final class LawExecutor: RunExecutor {
        static let validationOffset = 0.05
        static func law(_ n: Double, _ d: Double) -> Double { 2 + 30 * pow(n, -0.4) + 8 * pow(d, -0.3) }
        let finalLoss: ((Double) -> Double)?
        init(finalLoss: ((Double) -> Double)? = nil) { self.finalLoss = finalLoss }
        func train(_ jobs: [TrainingJob], batch: String, events: any RunEvents) throws {
            for (i, job) in jobs.enumerated() {
                try events.started(i, note: "law")
                let n = Double(try job.config.model.parameterCounts().scaling)
                let perStep = Double(job.config.tokensPerStep)
                let lines = (1...job.config.steps).map { s in
                    "{\"step\": \(s), \"loss\": \(Self.law(n, perStep * Double(s))), \"tokens\": \(perStep * Double(s))}"
                }
                try FileManager.default.createDirectory(at: job.directory.url, withIntermediateDirectories: true)
                try lines.joined(separator: "\n").write(to: job.directory.metricsURL, atomically: true, encoding: .utf8)
                let final = Self.law(n, perStep * Double(job.config.steps))
                var summary = RunSummary(status: .completed, steps: job.config.steps, divergedAtStep: nil,
                                         recorded: [RecordedLoss(step: job.config.steps, trainLoss: final,
                                                                      validationLoss: finalLoss?(n) ?? final + Self.validationOffset)],
                                         finalLoss: final, parameterCount: 0, tokens: 0, tokensPerSecond: 0, elapsed: 0, peakResidentBytes: 0)
                summary.evaluations = (1...job.config.steps).map { s in
                    ValidationPoint(step: s, tokens: job.config.tokensPerStep * s, loss: Self.law(n, perStep * Double(s)) + Self.validationOffset,
                                    standardError: nil, targets: 1000, checksum: "0")
                }
                try job.directory.writeSummary(summary)
                try events.ended(i, .finished(summary))
            }
        }
    }

    /// The curves the study fits are those of its fitted loss: the validation evaluations by default, the
    /// training windows with `fitLoss: trainingWindow`; each predicts the law (plus the validation offset).
    func testStudyPredictsTheTargetFromCurvesOfAKnownLaw() throws {
        try checkCurveStudy(fitLoss: .validation, offset: LawExecutor.validationOffset)
        try checkCurveStudy(fitLoss: .trainingWindow, offset: 0)
    }

    /// With the default `fitOn: finalLoss`, a design whose final losses admit no falling law (here they rise
    /// with N) is predicted by its learning curves, which follow the law, and the study says why; the
    /// final-loss fit's refusal is kept as the alternative.
    func testDegenerateFinalLossFitFallsBackToTheCurves() throws {
        let (spec, result, lines) = try runLawStudy("fallback", budget: "", options: "curveFrom: 0.1",
                                                    executor: LawExecutor(finalLoss: { 3 + 1e-6 * $0 }))
        let outcome = try XCTUnwrap(result.outcomes.first)
        XCTAssertEqual(outcome.fitOn, .learningCurves)
        XCTAssertNil(outcome.fit)
        let p = try XCTUnwrap(outcome.prediction)
        let truth = LawExecutor.law(Double(p.targetParameters), 20 * 64) + LawExecutor.validationOffset
        XCTAssertEqual(p.loss, truth, accuracy: 1e-6 * truth)
        let alternative = try XCTUnwrap(outcome.alternative)
        XCTAssertEqual(alternative.fitOn, .finalLoss)
        XCTAssertNil(alternative.prediction)
        XCTAssertTrue(try XCTUnwrap(alternative.error).contains("do not fall with size"), alternative.error ?? "")
        XCTAssertTrue(lines.contains { $0.contains("learning curves, the study's prediction, since the final-loss fit is degenerate") },
                      lines.joined(separator: "\n"))
        XCTAssertTrue(StudyReport.html(result, spec: spec).contains("predicted by the learning curves because the final-loss fit is degenerate"))
    }

    /// A one-design study of five proxies (widths 32…96, target 160, 20 steps of 4 × 16) run by `executor`.
    func runLawStudy(_ name: String, budget: String, options: String, executor: LawExecutor) throws
        -> (spec: StudySpec, result: StudyResult, lines: [String]) {
        let url = root.appendingPathComponent("\(name).yaml")
        try """
        name: \(name)
        data: synthetic
        vocabularySize: 128
        baseWidth: 32
        designs:
          - {name: gpt, architecture: gpt, layers: 1, headDim: 16}
        grid: {learningRates: [0.01]}
        proxyWidths: [32, 48, 64, 80, 96]
        targetWidth: 160
        budget: {steps: 20, batchSize: 4, sequenceLength: 16, warmupSteps: 2\(budget)}
        options: {\(options)}
        """.write(to: url, atomically: true, encoding: .utf8)
        var lines: [String] = []
        let spec = try StudySpec.load(url)
        let runner = try StudyRunner(spec: spec, file: url.path, directory: root.appendingPathComponent(name), log: { lines.append($0) })
        let result = try runner.run(executor: executor)
        return (spec, result, lines)
    }

    func checkCurveStudy(fitLoss: FitLoss, offset: Double) throws {
        let (_, result, lines) = try runLawStudy("curves-\(fitLoss)", budget: ", lossWindow: 1, fitLoss: \(fitLoss)",
                                                 options: "fitOn: learningCurves, curveFrom: 0.1", executor: LawExecutor())
        let outcome = try XCTUnwrap(result.outcomes.first)
        XCTAssertEqual(outcome.fitOn, .learningCurves)
        let p = try XCTUnwrap(outcome.prediction)
        let truth = LawExecutor.law(Double(p.targetParameters), 20 * 64) + offset
        XCTAssertEqual(p.loss, truth, accuracy: 1e-6 * truth)
        XCTAssertEqual(try XCTUnwrap(p.actual), truth, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(outcome.backtest.first).relativeError, 0, accuracy: 1e-6)
        // The final-loss fit is kept beside it: μScaling on the five proxies' final losses, refitted here.
        let alternative = try XCTUnwrap(outcome.alternative)
        XCTAssertEqual(alternative.fitOn, .finalLoss)
        let proxies = result.runs.filter { $0.phase != .target }.sorted { $0.width < $1.width }
        let fit = try fitMuScaling(parameters: proxies.map { Double($0.parameters) }, losses: proxies.map { $0.loss! })
        XCTAssertEqual(try XCTUnwrap(alternative.prediction).loss, fit.loss(at: Double(p.targetParameters)), accuracy: 1e-9)
        XCTAssertTrue(lines.contains { $0.contains("learning curves, the study's prediction") }, lines.joined(separator: "\n"))
    }
}
