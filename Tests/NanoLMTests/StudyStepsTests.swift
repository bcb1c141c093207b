import XCTest
import ScalingLaws
@testable import NanoLM

/// Algorithm 1's decisions on a fake executor: runs "finish" instantly with losses this file makes up, so
/// grid choice, basin, fit, comparison and cost are checked against hand computations without training.
final class StudyStepsTests: ScratchDirectoryTestCase {
    /// Writes each job's summary.json with the loss `loss(job)` gives (nil: diverged at step 1), as a trained run would.
    final class FakeExecutor: RunExecutor {
        let loss: (TrainingConfig) -> Double?
        var trained: [String] = []
        init(loss: @escaping (TrainingConfig) -> Double?) { self.loss = loss }

        func train(_ jobs: [TrainingJob], batch: String, events: any RunEvents) throws {
            for (i, job) in jobs.enumerated() {
                try events.started(i, note: "fake")
                trained.append(job.directory.path)
                let l = loss(job.config)
                let summary = RunSummary(status: l == nil ? .diverged : .completed, steps: job.config.steps, divergedAtStep: l == nil ? 1 : nil,
                                         recorded: l.map { [RecordedLoss(step: job.config.steps, trainLoss: $0, validationLoss: $0)] } ?? [],
                                         finalLoss: l, parameterCount: 0, tokens: 0, tokensPerSecond: 0, elapsed: 0, peakResidentBytes: 0,
                                         evaluations: l.map { [ValidationPoint(step: job.config.steps, tokens: job.config.steps * job.config.tokensPerStep,
                                                                               loss: $0, standardError: 0.001, targets: 100, checksum: "fake")] })
                try job.directory.writeSummary(summary)
                try events.ended(i, .finished(summary))
            }
        }
    }

    func spec(_ yaml: String) throws -> StudySpec {
        let url = root.appendingPathComponent("study-\(UUID().uuidString).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return try StudySpec.load(url)
    }

    static func yaml(designs: String = "  - {name: gpt, architecture: gpt, layers: 1, headDim: 16}",
                     learningRates: String = "[0.001, 0.01, 0.1]") -> String {
        """
        name: fake
        data: synthetic
        vocabularySize: 128
        baseWidth: 32
        designs:
        \(designs)
        grid:
          learningRates: \(learningRates)
        proxyWidths: [32, 48, 64, 80]
        targetWidth: 128
        budget: {steps: 10, batchSize: 4, sequenceLength: 16}
        """
    }

    /// L = 2 + 40·C^−0.35, a bowl in log lr around 0.01, and a small wobble so the fit has residuals.
    static func madeUpLoss(_ c: TrainingConfig, offset: Double = 0) -> Double {
        let n = Double(try! c.model.parameterCounts().scaling)
        let lr = c.model.hyper.learningRate
        return 2 + offset + 40 * pow(n, -0.35) + 0.05 * pow(log10(lr / 0.01), 2) + 0.002 * sin(Double(c.model.width))
    }

    func run(_ spec: StudySpec, _ executor: FakeExecutor) throws -> (StudyResult, [String]) {
        var lines: [String] = []
        let runner = try StudyRunner(spec: spec, file: "fake.yaml", directory: root.appendingPathComponent(spec.name + UUID().uuidString),
                                     log: { lines.append($0) })
        return (try runner.run(executor: executor), lines)
    }

    /// lr 0.01 would be best but diverges: the lowest loss among the finished points (0.001 vs 0.1, equal
    /// bowl, so the wobble decides nothing — both are at the bowl's 0.05) is chosen, never the diverged one.
    func testDivergedBestGridPointIsNeverChosen() throws {
        let fake = FakeExecutor { c in c.model.hyper.learningRate == 0.01 ? nil : Self.madeUpLoss(c) + (c.model.hyper.learningRate == 0.1 ? 0.01 : 0) }
        let (result, _) = try run(try spec(Self.yaml()), fake)
        let outcome = try XCTUnwrap(result.outcomes.first)
        XCTAssertEqual(outcome.best.learningRate, 0.001)
        XCTAssertEqual(result.runs.filter { $0.status == .diverged }.map(\.hyper.learningRate), [0.01])
        // The same decision from the step alone, on hand-made runs.
        let runs = [(0.001, 3.2), (0.01, nil), (0.1, 3.1)].map { lr, loss in
            StoredRun(id: "\(lr)", design: "d", phase: .grid, width: 32, hyper: MuHyperParameters(learningRate: lr), parameters: 1,
                      flops: 1, steps: 1, directory: "", status: loss == nil ? .diverged : .done, loss: loss)
        }
        XCTAssertEqual(try chooseGridPoint(runs, tolerance: 0.01, design: "d", width: 32).best.hyper.learningRate, 0.1)
        XCTAssertThrowsError(try chooseGridPoint([runs[1]], tolerance: 0.01, design: "d", width: 32))
    }

    /// Loss falling with lr all the way to the grid's largest value: the choice is at the upper edge of
    /// grid.learningRates, and the study says so (in the result and in the narration).
    func testBasinAtGridEdgeIsReported() throws {
        let fake = FakeExecutor { c in Self.madeUpLoss(c) - 0.1 * log10(c.model.hyper.learningRate) }
        let (result, lines) = try run(try spec(Self.yaml(learningRates: "[0.0001, 0.001, 0.003]")), fake)
        let outcome = try XCTUnwrap(result.outcomes.first)
        XCTAssertEqual(outcome.best.learningRate, 0.003)
        XCTAssertEqual(outcome.gridEdges, [GridEdge(axis: .learningRate, value: 0.003, isUpper: true)])
        XCTAssertTrue(lines.contains { $0.contains("upper edge of grid.learningRates") }, lines.joined(separator: "\n"))
        // In the middle of the bowl: no edge.
        let (middle, _) = try run(try spec(Self.yaml()), FakeExecutor { Self.madeUpLoss($0) })
        XCTAssertEqual(middle.outcomes[0].best.learningRate, 0.01)
        XCTAssertNil(middle.outcomes[0].gridEdges)
    }

    /// The transfer check at width 96, where the bowl's centre has moved from lr 0.01 to 0.1: the best point
    /// there is 0.1, and the base's 0.01 trains 0.05 worse, a fraction 0.05 / L(96) of the best loss — said in
    /// the narration and the report, kept in the result. Where the bowl stays, the basin transfers.
    func testTransferCheckMeasuresHowMuchWorseTheBasesPointTrainsWider() throws {
        let moved = FakeExecutor { c in
            c.model.width != 96 ? Self.madeUpLoss(c)
                : Self.madeUpLoss(c) - 0.05 * pow(log10(c.model.hyper.learningRate / 0.01), 2)
                    + 0.05 * pow(log10(c.model.hyper.learningRate / 0.1), 2)
        }
        let file = Self.yaml() + "\noptions: {transferCheckWidths: [96]}\n"
        let (result, lines) = try run(try spec(file), moved)
        let outcome = try XCTUnwrap(result.outcomes.first)
        XCTAssertEqual(outcome.best.learningRate, 0.01)
        let check = try XCTUnwrap(outcome.transferChecks?.first)
        XCTAssertEqual(check.width, 96)
        XCTAssertEqual(check.best.hyper.learningRate, 0.1)
        XCTAssertFalse(check.sameAsBase)
        XCTAssertEqual(check.transferred?.hyper.learningRate, 0.01)
        var config = ModelConfig(architecture: .gpt, layers: 1, width: 96, vocabularySize: 128, sequenceLength: 16, headDim: 16)
        config.tiedEmbeddings = false
        let best96 = 2 + 40 * pow(Double(try config.parameterCounts().scaling), -0.35) + 0.002 * sin(96.0)
        XCTAssertEqual(try XCTUnwrap(check.shortfall), 0.05 / best96, accuracy: 1e-12)
        let said = String(format: "trains %.2f%% worse here", 100 * 0.05 / best96)
        XCTAssertTrue(lines.contains { $0.contains(said) }, lines.joined(separator: "\n"))
        XCTAssertTrue(StudyReport.html(result, spec: try spec(file)).contains("Transfer check at width 96"))

        let (stayed, stayedLines) = try run(try spec(file), FakeExecutor { Self.madeUpLoss($0) })
        XCTAssertEqual(stayed.outcomes[0].transferChecks?.first?.sameAsBase, true)
        XCTAssertEqual(try XCTUnwrap(stayed.outcomes[0].transferChecks?.first?.shortfall), 0, accuracy: 0)
        XCTAssertTrue(stayedLines.contains { $0.contains("the basin transfers") })
    }

    /// Ranking by predicted loss; intervals separate only when the better one's upper end is below the
    /// other's lower end. By hand, then through a study whose second design is 0.5 worse everywhere.
    func testDesignsRankedWithAndWithoutSeparatedIntervals() throws {
        func p(_ name: String, _ loss: Double, _ halfWidth: Double) -> DesignPrediction {
            DesignPrediction(design: name, targetParameters: 1, loss: loss, lower: loss - halfWidth, upper: loss + halfWidth, actual: nil)
        }
        let apart = compare([p("b", 3.0, 0.1), p("a", 2.5, 0.1)])
        XCTAssertEqual(apart.ranking.map(\.design), ["a", "b"])
        XCTAssertEqual(apart.intervalsSeparate, true)
        let overlapping = compare([p("b", 3.0, 0.3), p("a", 2.5, 0.3)])
        XCTAssertEqual(overlapping.ranking.map(\.design), ["a", "b"])
        XCTAssertEqual(overlapping.intervalsSeparate, false)
        XCTAssertNil(compare([p("a", 2.5, 0.1)]).intervalsSeparate)

        let two = Self.yaml(designs: "  - {name: worse, architecture: gpt, layers: 1, headDim: 16}\n  - {name: better, architecture: llama, layers: 1, headDim: 16}")
        let fake = FakeExecutor { c in Self.madeUpLoss(c, offset: c.model.architecture == .gpt ? 0.5 : 0) }
        let (result, lines) = try run(try spec(two), fake)
        XCTAssertEqual(result.ranking, ["better", "worse"])
        let predictions = result.outcomes.compactMap(\.prediction)
        XCTAssertEqual(result.intervalsSeparate, compare(predictions).intervalsSeparate)
        XCTAssertTrue(lines.contains { $0.contains("better is predicted better than worse") }, lines.joined(separator: "\n"))
    }

    /// The fit is μScaling on the proxies' made-up losses; the cost is Eq. (1) by hand (3 grid runs at 32,
    /// proxies at 48, 64, 80, against one target at 128); nothing is trained twice on a rerun.
    func testFitAndCostByHand() throws {
        let fake = FakeExecutor { Self.madeUpLoss($0) }
        let spec = try spec(Self.yaml())
        let directory = root.appendingPathComponent("same")
        let runner = try StudyRunner(spec: spec, file: "fake.yaml", directory: directory, log: { _ in })
        let result = try runner.run(executor: fake)
        let outcome = try XCTUnwrap(result.outcomes.first)
        var sizes: [Double] = [], losses: [Double] = []
        for w in [32, 48, 64, 80] {
            var config = ModelConfig(architecture: .gpt, layers: 1, width: w, vocabularySize: 128, sequenceLength: 16, headDim: 16)
            config.tiedEmbeddings = false
            config.hyper.learningRate = 0.01
            sizes.append(Double(try config.parameterCounts().scaling))
            losses.append(Self.madeUpLoss(TrainingConfig(model: config, steps: 10, batchSize: 4)))
        }
        let fit = try fitMuScaling(parameters: sizes, losses: losses)
        XCTAssertEqual(try XCTUnwrap(outcome.fit).b, fit.b, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(outcome.prediction).loss, fit.loss(at: Double(outcome.targetParameters)), accuracy: 1e-12)
        func m(_ w: Double) -> Double { 96 * 4 * 16 * 1 * w * w * (1 + 16 / (6 * w) + 128 / (16 * 1 * w)) }
        XCTAssertEqual(result.costRatioEquation1, (3 * m(32) + m(48) + m(64) + m(80)) / m(128), accuracy: 1e-9)
        XCTAssertEqual(fake.trained.count, 3 + 3 + 1, "3 grid points, proxies 48/64/80 (32 is the grid's), the target")
        XCTAssertNil(result.failure)
        let again = FakeExecutor { Self.madeUpLoss($0) }
        _ = try StudyRunner(spec: spec, file: "fake.yaml", directory: directory, log: { _ in }).run(executor: again)
        XCTAssertEqual(again.trained, [])
    }

    /// A run the executor reports failed is recorded failed with its message, and left out of the fit by name.
    func testFailedProxyIsRecordedAndLeftOut() throws {
        final class Reindexed: RunEvents {
            let events: any RunEvents, map: [Int]
            init(_ events: any RunEvents, _ map: [Int]) { self.events = events; self.map = map }
            func started(_ index: Int, note: String?) throws { try events.started(map[index], note: note) }
            func progress(_ index: Int, _ progress: TrainingProgress) { events.progress(map[index], progress) }
            func ended(_ index: Int, _ outcome: RunOutcome) throws { try events.ended(map[index], outcome) }
        }
        final class Failing: RunExecutor {
            let inner = FakeExecutor { StudyStepsTests.madeUpLoss($0) }
            func train(_ jobs: [TrainingJob], batch: String, events: any RunEvents) throws {
                let ok = jobs.indices.filter { jobs[$0].config.model.width != 64 }
                try inner.train(ok.map { jobs[$0] }, batch: batch, events: Reindexed(events, ok))
                for i in jobs.indices where jobs[i].config.model.width == 64 { try events.started(i, note: nil); try events.ended(i, .failed("boom")) }
            }
        }
        let directory = root.appendingPathComponent("failing")
        var lines: [String] = []
        let result = try StudyRunner(spec: try spec(Self.yaml()), file: "fake.yaml", directory: directory, log: { lines.append($0) })
            .run(executor: Failing())
        let failed = try XCTUnwrap(result.runs.first { $0.width == 64 })
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.message, "boom")
        XCTAssertTrue(lines.contains { $0.contains("left out of the fit: width 64: [\"failed\"]") }, lines.joined(separator: "\n"))
        // Three proxies are too few for three coefficients: no prediction, and the reason is kept.
        XCTAssertNil(result.outcomes[0].fit)
        XCTAssertTrue(result.outcomes[0].fitError?.contains("4") ?? false, "\(result.outcomes[0].fitError ?? "nil")")
        // And the study failed at what it was asked: `study run` exits non-zero with this reason.
        XCTAssertTrue(result.failure?.contains("design gpt has no prediction") ?? false, result.failure ?? "nil")
        XCTAssertTrue(result.failure?.contains("width 64 failed (boom)") ?? false, result.failure ?? "nil")
    }

    /// `seeds: 3`: every proxy width and the target train 3 times (seed + k, dataSeed + k; the base width's seed 0 is
    /// the grid run), and the fit is scipy's curve_fit on the widths' means with their pooled standard errors as
    /// sigma, the seeds' scatter pooled with the means' (Fixtures/seed_fits.json, case seeds_noise_dominates: the README
    /// design's C at widths 32…128; seed 2 at width 64 diverges, so that width's mean is over 2 seeds).
    func testSeedsTrainEachProxyKTimesAndTheFitUsesMeansAndStandardErrors() throws {
        struct Golden: Decodable {
            var name: String; var sizes: [Double]; var seedLosses: [[Double]]; var target: Double; var means: [Double]
            var standardErrors: [Double]; var popt: [Double]; var pooledCovariance: [[Double]]; var prediction: Double
            var measuredInterval3: [Double]
        }
        let url = packageRoot.appendingPathComponent("Tests/ScalingLawsTests/Fixtures/seed_fits.json")
        let g = try XCTUnwrap(try JSONDecoder().decode([Golden].self, from: Data(contentsOf: url)).first { $0.name == "seeds_noise_dominates" })
        let widths = [32, 48, 64, 96, 128]
        let fake = FakeExecutor { c in
            guard let w = widths.firstIndex(of: c.model.width) else { return 2.0 + Double(c.seed) * 0.01 }  // the target
            let k = Int(c.seed), seeds = g.seedLosses[w]
            if c.model.hyper.learningRate != 0.004 { return seeds[0] + 0.1 }  // other grid points are worse
            return k < seeds.count ? seeds[k] : nil  // width 64 has two seeds: its third diverges
        }
        let yaml = """
            name: seeds
            data: synthetic
            vocabularySize: 384
            baseWidth: 32
            designs: [{name: gpt, architecture: gpt, layers: 2, headDim: 16}]
            grid: {learningRates: [0.001, 0.004, 0.016]}
            proxyWidths: [32, 48, 64, 96, 128]
            targetWidth: 256
            budget: {steps: 10, batchSize: 4, sequenceLength: 128}
            seeds: 3
            """
        let directory = root.appendingPathComponent("seeds")
        let runner = try StudyRunner(spec: try spec(yaml), file: "fake.yaml", directory: directory, log: { _ in })
        let result = try runner.run(executor: fake)
        // 3 grid points, 2 more seeds at the base width, 3 at each other proxy width, 3 targets.
        XCTAssertEqual(fake.trained.count, 3 + 2 + 4 * 3 + 3)
        for w in widths {
            let runs = result.runs.filter { $0.width == w && $0.hyper.learningRate == 0.004 }
            XCTAssertEqual(runs.map { $0.seedIndex ?? -1 }.sorted(), [0, 1, 2], "width \(w)")
            XCTAssertEqual(Double(runs[0].parameters), g.sizes[widths.firstIndex(of: w)!], "the golden's C")
        }
        XCTAssertTrue(fake.trained.contains { $0.hasSuffix("w64-lr0.004-std0.02-tau1-seed2") })
        let fit = try XCTUnwrap(result.outcomes[0].fit)
        for i in 0 ..< 5 { XCTAssertEqual(fit.losses[i], g.means[i], accuracy: 1e-12) }
        for i in 0 ..< 5 { XCTAssertEqual(try XCTUnwrap(fit.sigma)[i], g.standardErrors[i], accuracy: 1e-12) }
        for i in 0 ..< 3 { XCTAssertEqual(fit.coefficients[i], g.popt[i], accuracy: 1e-6 * abs(g.popt[i])) }
        // The seeds' scatter pooled with the means' (scipy: curve_fit on every seed's loss), and the interval of
        // the target's measured loss, the mean of its 3 seeds.
        for i in 0 ..< 3 { for j in 0 ..< 3 {
            XCTAssertEqual(fit.covariance[i][j], g.pooledCovariance[i][j],
                           accuracy: 1e-5 * (g.pooledCovariance[i][i] * g.pooledCovariance[j][j]).squareRoot())
        } }
        let p = try XCTUnwrap(result.outcomes[0].prediction)
        XCTAssertEqual(Double(p.targetParameters), g.target)
        XCTAssertEqual(p.loss, g.prediction, accuracy: 1e-6)
        XCTAssertEqual(p.lower, g.measuredInterval3[0], accuracy: 1e-5)
        XCTAssertEqual(p.upper, g.measuredInterval3[1], accuracy: 1e-5)
        // The target's loss is the mean of its three seeds (2.00, 2.01, 2.02).
        XCTAssertEqual(try XCTUnwrap(result.outcomes[0].targetLoss), 2.01, accuracy: 1e-12)
        XCTAssertEqual(result.outcomes[0].targetSeedLosses?.count, 3)
        // Every finished run's evaluations are in the database for a learning-curve fit.
        let curves = try runner.store.validationCurves(study: "seeds")
        XCTAssertEqual(curves.count, result.runs.count)
        XCTAssertEqual(curves.filter { $0.run.status == .done }.map(\.points.count), Array(repeating: 1, count: curves.count - 1))
        XCTAssertEqual(curves.first { $0.run.status == .diverged }?.points.count, 0)
        // The report plots every seed's point and the means with their standard errors.
        let html = StudyReport.html(result, spec: runner.spec)
        XCTAssertTrue(html.contains("gpt proxies, each seed") && html.contains("mean ± standard error"))
    }

    /// One seed (the default) keeps the unweighted fit; `budget.fitLoss: trainingWindow` fits the training window's
    /// mean, `validation` (the default) the validation loss.
    func testFitLossChoosesTheMeasuredLoss() throws {
        let fake = FakeExecutor { Self.madeUpLoss($0) }
        final class Split: RunExecutor {  // training window = validation + 0.3
            let inner: FakeExecutor
            init(_ inner: FakeExecutor) { self.inner = inner }
            func train(_ jobs: [TrainingJob], batch: String, events: any RunEvents) throws {
                try inner.train(jobs, batch: batch, events: events)
                for job in jobs {
                    guard var s = job.directory.readSummary(), var last = s.recorded.last else { continue }
                    last.trainLoss += 0.3
                    s.recorded = [last]
                    try job.directory.writeSummary(s)
                }
            }
        }
        for (choice, offset) in [("", 0.0), ("\n  fitLoss: validation", 0.0), ("\n  fitLoss: trainingWindow", 0.3)] {
            let yaml = Self.yaml().replacingOccurrences(of: "budget: {steps: 10, batchSize: 4, sequenceLength: 16}",
                                                        with: "budget:\n  steps: 10\n  batchSize: 4\n  sequenceLength: 16" + choice)
            let runner = try StudyRunner(spec: try spec(yaml), file: "fake.yaml", directory: root.appendingPathComponent(UUID().uuidString), log: { _ in })
            // The recorder stores what the executor reported, then `execute` rereads summary.json: the rewritten one.
            _ = try runner.run(executor: Split(FakeExecutor { Self.madeUpLoss($0) }))
            let rerun = try runner.run(executor: fake)
            let run = try XCTUnwrap(rerun.runs.first { $0.phase == .proxy && $0.width == 48 })
            let made = try XCTUnwrap(run.validationLoss)
            XCTAssertEqual(try XCTUnwrap(run.loss), made + offset, accuracy: 1e-12, choice)
            XCTAssertEqual(try XCTUnwrap(run.trainLoss), made + 0.3, accuracy: 1e-12, choice)
            XCTAssertNil(rerun.outcomes[0].fit?.sigma, "one seed: unweighted")
        }
        XCTAssertThrowsError(try spec(Self.yaml().replacingOccurrences(of: "budget: {steps: 10,", with: "budget: {fitLoss: final, steps: 10,")))
    }

    /// The progress line: step 10 of 40 after 20 s leaves 30 steps at 2 s each (1m00s); off a terminal,
    /// one plain line per tenth of the run, per run.
    func testProgressLineAndETA() throws {
        let p = TrainingProgress(step: 10, totalSteps: 40, loss: 3.25, learningRate: 1e-3, tokensPerSecond: 1234, elapsed: 20)
        XCTAssertEqual(TerminalStudyReporter.progressText(phase: .proxy, label: "gpt width 64 lr 0.01", p, phaseRemaining: 3725),
                       "[proxy] gpt width 64 lr 0.01: step 10/40  loss 3.2500  1234 tok/s  ETA run 1m00s, phase 1h02m")
        var written: [String] = []
        let line = ProgressLine(isTerminal: false, write: { written.append($0) })
        for f in [0.01, 0.05, 0.12, 0.19, 0.2, 1.0] { line.update("a \(f)", fraction: f, key: "a") }
        line.update("b 0.05", fraction: 0.05, key: "b")
        XCTAssertEqual(written, ["a 0.01\n", "a 0.12\n", "a 0.2\n", "a 1.0\n", "b 0.05\n"])
    }

    /// The phase's time left: the FLOPs still to train at the measured seconds per FLOP, shared by the runs training.
    func testPhaseRemainingFromFLOPs() throws {
        let spec = try spec(Self.yaml())
        let runner = try StudyRunner(spec: spec, file: "fake.yaml", directory: root.appendingPathComponent("eta"), log: { _ in })
        let runs = try [32, 64].map { try runner.plan(spec.designs[0], width: $0, hyper: MuHyperParameters(learningRate: 0.01), phase: .proxy) }
        let recorder = StudyRecorder(runs: runs, store: runner.store, reporter: TerminalStudyReporter(log: { _ in }))
        // Run 0 is a quarter done after 10 s: 10 s per quarter of its FLOPs.
        let p = TrainingProgress(step: 25, totalSteps: 100, loss: 3, learningRate: 0, tokensPerSecond: 1, elapsed: 10)
        recorder.progress(0, p)
        let perFLOP = 10 / (0.25 * runs[0].flops)
        XCTAssertEqual(try XCTUnwrap(recorder.phaseRemaining(0, p)), (0.75 * runs[0].flops + runs[1].flops) * perFLOP, accuracy: 1e-9)
    }
}
