import Foundation
import XCTest
import Torch
@testable import NanoLM

/// The fixed validation set (issue 16, item 3): the same tokens for every width, seed, data seed and batch
/// size; its loss equals a computation by hand; every evaluation along training is recorded.
final class ValidationSetTests: XCTestCase {
    static let sequenceLength = 16
    static let validation = TrainerTests.tokens(3000, seed: 2)

    func data(seed: UInt64 = 3, batchSize: Int = 8) throws -> CausalLMBatches {
        try CausalLMBatches(training: TrainerTests.tokens(4000, seed: 1), validation: Self.validation, batchSize: batchSize,
                            sequenceLength: Self.sequenceLength, seed: seed)
    }

    func config(width: Int, batchSize: Int = 8, validationTokens: Int = 1000, steps: Int = 12) -> TrainingConfig {
        var model = ModelConfig(architecture: .gpt, layers: 1, width: width, vocabularySize: 16, sequenceLength: Self.sequenceLength, headDim: 8,
                                parametrization: Parametrization(kind: .muP, baseWidth: 16, zeroReadout: false))
        model.hyper.learningRate = 0.02
        var c = TrainingConfig(model: model, steps: steps, batchSize: batchSize)
        c.validationTokens = validationTokens
        c.evalSteps = [4, 8, 12]
        c.lossWindow = 2
        c.threads = 1
        return c
    }

    func trainer(_ c: TrainingConfig, data: CausalLMBatches, seed: UInt64 = 0) throws -> Trainer {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-validation-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return try Trainer(config: c, model: makeModel(c.model, seed: seed), data: data, directory: dir)
    }

    /// The split's 187 windows, `count` of them evenly spaced: ⌊i·187/count⌋.
    static func spread(_ count: Int) -> [Int] { (0 ..< count).map { $0 * 187 / count } }

    /// FNV-1a of the windows the set should hold, from the raw validation tokens: window j reads tokens
    /// [16j, 16j + 16] (inputs the first 16, targets the last 16), as little-endian Int64s.
    func expectedChecksum(windows: Int) -> String {
        var bytes = Data()
        func append(_ v: Int32) { withUnsafeBytes(of: Int64(v).littleEndian) { bytes.append(contentsOf: $0) } }
        let t = Self.sequenceLength
        for j in Self.spread(windows) {
            for i in 0 ..< t { append(Self.validation[j * t + i]) }
            for i in 0 ..< t { append(Self.validation[j * t + i + 1]) }
        }
        return fnv1a(bytes)
    }

    /// Two widths, two init seeds, two data seeds and two batch sizes read exactly the windows above: ⌈1000/16⌉ = 63
    /// of the 187, evenly spaced.
    func testTheSameTokensForEveryWidthSeedAndBatchSize() throws {
        let expected = expectedChecksum(windows: 63)
        let measurements = [
            try trainer(config(width: 16), data: data()).evaluate(),
            try trainer(config(width: 32), data: data()).evaluate(),
            try trainer(config(width: 32), data: data(seed: 99), seed: 7).evaluate(),
            try trainer(config(width: 16, batchSize: 5), data: data(batchSize: 5)).evaluate(),
        ]
        for m in measurements {
            XCTAssertEqual(m.checksum, expected)
            XCTAssertEqual(m.targets, 63 * 16)
        }
        XCTAssertNotEqual(measurements[0].loss, measurements[1].loss, "two widths are two models")
    }

    /// The loss is the mean over every target of −log softmax(logits)[target], computed here in Double from
    /// the model's logits one window at a time; the standard error is the batch-means formula over 32 groups of
    /// consecutive windows, by hand.
    func testLossAndStandardErrorEqualAHandComputation() throws {
        var c = config(width: 32, validationTokens: 64 * 16)
        c.model.hyper.initStd = 0.3  // logits far from uniform
        c.model.hyper.outputMultiplier = 4
        let model = try makeModel(c.model, seed: 5) as! GPT
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-validation-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let measured = try Trainer(config: c, model: model, data: data(), directory: dir).evaluate()

        let t = Self.sequenceLength, v = 16
        var windowSums: [Double] = []
        for j in Self.spread(64) {
            let ids = (0 ..< t).map { Int64(Self.validation[j * t + $0]) }
            let logits = try withNoGrad { try model.logits(Tensor(ids, shape: [1, t])).toArray(Float.self) }  // [1, T, V]
            var sum = 0.0
            for i in 0 ..< t {
                let row = (0 ..< v).map { Double(logits[i * v + $0]) }
                let m = row.max()!
                let logZ = m + log(row.map { exp($0 - m) }.reduce(0, +))
                sum += logZ - row[Int(Self.validation[j * t + i + 1])]
            }
            windowSums.append(sum)
        }
        let loss = windowSums.reduce(0, +) / Double(64 * t)
        XCTAssertEqual(measured.loss, loss, accuracy: 1e-5)
        XCTAssertGreaterThan(abs(loss - log(16)), 0.01, "a model that predicts something")
        // 32 groups of 2 windows (32 targets each): SE² = 32/31 · Σ (S_g − L·32)² / (64·16)².
        let groups = (0 ..< 32).map { windowSums[2 * $0] + windowSums[2 * $0 + 1] }
        let se = (groups.map { ($0 - loss * 32) * ($0 - loss * 32) }.reduce(0, +) * 32 / 31).squareRoot() / Double(64 * t)
        XCTAssertEqual(try XCTUnwrap(measured.standardError()), se, accuracy: 1e-6)
    }

    /// The paired standard error of a difference, by hand: windows (summed loss, targets) A = (10, 4), (12, 4), (9, 4),
    /// (11, 4) and B = (9, 4), (12.5, 4), (8, 4), (10.5, 4) in 2 groups of 2. L_A = 42/16 = 2.625, L_B = 40/16 = 2.5;
    /// A's group residuals S_g − L·N_g are +1, −1 and B's +1.5, −1.5, so SE_A = √(2·2)/16 = 0.125, SE_B = √(4.5·2)/16
    /// = 0.1875, and the difference's residuals +0.5, −0.5 give √(0.5·2)/16 = 0.0625: what both find hard cancels.
    /// Measured on other tokens (another checksum or other counts), there is no paired error.
    func testPairedStandardErrorEqualsAHandComputation() throws {
        let a = ValidationMeasurement(sums: [10, 12, 9, 11], counts: [4, 4, 4, 4])
        let b = ValidationMeasurement(sums: [9, 12.5, 8, 10.5], counts: [4, 4, 4, 4])
        XCTAssertEqual(try XCTUnwrap(a.standardError(groups: 2)), 0.125, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(b.standardError(groups: 2)), 0.1875, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(a.pairedStandardError(against: b, groups: 2)), 0.0625, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(b.pairedStandardError(against: a, groups: 2)), 0.0625, accuracy: 1e-12)
        var other = FNV1a()
        other.combine([Int64(1)])
        XCTAssertNil(a.pairedStandardError(against: ValidationMeasurement(sums: b.sums, counts: b.counts, checksum: other)))
        XCTAssertNil(a.pairedStandardError(against: ValidationMeasurement(sums: b.sums, counts: [4, 4, 4, 3])))
    }

    /// Stratified by domain and clustered by document, by hand: windows (summed loss, targets) in domain 0 —
    /// document 0: (10, 4), (12, 4); document 1: (9, 4) — and domain 1 — document 2: (20, 4); document 3: (22, 4),
    /// (16, 4). Domain 0: L₀ = 31/12, residuals 22 − 8·31/12 = +4/3 and 9 − 4·31/12 = −4/3, so 2/1 · 32/9 = 64/9;
    /// domain 1: L₁ = 58/12, residuals 20 − 4·58/12 = +2/3 and 38 − 8·58/12 = −2/3, so 2 · 8/9 = 16/9. SE = √(80/9)/24.
    /// Batch means over the same windows would see domain 1's higher loss as noise. Paired against a run whose
    /// windows differ by +1, +1, +1, −1, 0, 0: domain 0's documents differ by +2 (8 targets) and +1 (4), exactly
    /// its mean 0.25 per target, so nothing; domain 1's by −1 (4) and 0 (8) around −1/12: residuals ∓2/3, 2 · 8/9
    /// = 16/9, SE = (4/3)/24.
    func testStratifiedClusteredStandardErrorEqualsAHandComputation() throws {
        let groups = [(0, 0), (0, 0), (0, 1), (1, 2), (1, 3), (1, 3)].map { WindowGroup(stratum: $0.0, cluster: $0.1) }
        let a = ValidationMeasurement(sums: [10, 12, 9, 20, 22, 16], counts: [4, 4, 4, 4, 4, 4], groups: groups)
        let b = ValidationMeasurement(sums: [11, 13, 10, 19, 22, 16], counts: [4, 4, 4, 4, 4, 4], groups: groups)
        XCTAssertEqual(try XCTUnwrap(a.standardError()), (80.0 / 9).squareRoot() / 24, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(a.pairedStandardError(against: b)), 4.0 / 3 / 24, accuracy: 1e-12)
        let unstratified = ValidationMeasurement(sums: a.sums, counts: a.counts,
                                                 groups: groups.map { WindowGroup(stratum: 0, cluster: $0.cluster) })
        XCTAssertGreaterThan(try XCTUnwrap(unstratified.standardError()), 2 * (try XCTUnwrap(a.standardError())))
        // The layout's groups: documents end after each EOS (9), the last at the split's end.
        let layout = ValidationLayout(tokens: [Int32]([1, 2, 9, 3, 9, 4, 5, 6]), eos: 9, documentsPerDomain: [2, 1])
        XCTAssertEqual(layout.documentEnds, [3, 5, 8])
        XCTAssertEqual([0, 2, 3, 4, 5, 7].map { layout.group(ofWindowAt: $0) },
                       [(0, 0), (0, 0), (0, 1), (0, 1), (1, 2), (1, 2)].map { WindowGroup(stratum: $0.0, cluster: $0.1) })
        XCTAssertEqual(ValidationLayout(tokens: [Int32]([1, 9, 2]), eos: 9, documentsPerDomain: [5]).documentDomains, [0, 0],
                       "counts that do not add up: one domain")
    }

    /// Two runs' evaluations after training, measured again from their directories by ``RunValidation`` (as
    /// `nanolm eval loss` does), on the same tokens: each equals what the run recorded at its last step.
    func testRunValidationRemeasuresWhatTheRunRecorded() throws {
        var recorded: [ValidationPoint] = [], remeasured: [ValidationMeasurement] = []
        for (width, seed) in [(16, UInt64(0)), (32, UInt64(1))] {
            let c = config(width: width)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-validation-\(UUID().uuidString)")
            addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
            let t = try Trainer(config: c, model: makeModel(c.model, seed: seed), data: openTrainingData("synthetic", config: c), directory: dir)
            _ = try t.run()
            try t.files.writeData("synthetic")  // as `nanolm train` records it
            recorded.append(try XCTUnwrap(t.files.validationCurve().last))
            remeasured.append(try RunValidation(directory: dir).measurement)
        }
        for (point, m) in zip(recorded, remeasured) {
            XCTAssertEqual(m.loss, point.loss, accuracy: 1e-6)
            XCTAssertEqual(m.checksum, point.checksum)
            XCTAssertEqual(m.targets, point.targets)
        }
        XCTAssertNotNil(remeasured[0].pairedStandardError(against: remeasured[1]), "the same tokens")
        XCTAssertThrowsError(try RunValidation(directory: URL(fileURLWithPath: "/nonexistent/run"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/run") && "\(error)".contains("config.json"), "\(error)")
        }
    }
    /// A run evaluates at evalSteps and the last step, records each point (step, tokens seen, loss, standard error,
    /// checksum) in summary.json and metrics.jsonl, and `validationCurve()` reads them back in step order.
    func testEvaluationsAlongTrainingAreRecorded() throws {
        let c = config(width: 16)
        let t = try trainer(c, data: data())
        let summary = try t.run()
        let curve = t.files.validationCurve()
        XCTAssertEqual(curve.map(\.step), [4, 8, 12])
        XCTAssertEqual(curve.map(\.tokens), [4, 8, 12].map { $0 * c.tokensPerStep })
        XCTAssertEqual(Set(curve.map(\.checksum)), [expectedChecksum(windows: 63)])
        XCTAssertTrue(curve.allSatisfy { $0.standardError != nil && $0.targets == 63 * 16 })
        XCTAssertEqual(summary.recorded.last?.validationLoss, curve.last?.loss)
        let lines = try String(contentsOf: t.files.metricsURL, encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let logged = lines.compactMap { $0["val_loss"] as? Double }
        XCTAssertEqual(logged.count, 3)
        for (a, b) in zip(logged, curve.map(\.loss)) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }

    /// Masked-LM and span-corruption validation windows are the same for two data seeds (their masks and spans
    /// are seeded by a constant), and differ from window to window.
    func testMaskedAndSpanWindowsDoNotDependOnTheDataSeed() throws {
        let special = SpecialTokens(vocabularySize: 64, eos: 63, mask: 62, pad: 61)
        let tokens = (0 ..< 4000).map { Int32($0 % 60) }
        func ids(_ b: Batch) throws -> [Int64] { try b.inputs.toArray(Int64.self) + b.targets.toArray(Int64.self) }
        for seed in [UInt64(1), 2] {
            let masked = try MaskedLMBatches(training: tokens, validation: tokens, batchSize: 4, sequenceLength: 32, seed: seed, special: special)
            let spans = try SpanCorruptionBatches(training: tokens, validation: tokens, batchSize: 4, inputLength: 32, seed: seed, special: special)
            let reference = try MaskedLMBatches(training: tokens, validation: tokens, batchSize: 2, sequenceLength: 32, seed: 5, special: special)
            let referenceSpans = try SpanCorruptionBatches(training: tokens, validation: tokens, batchSize: 2, inputLength: 32, seed: 5, special: special)
            XCTAssertEqual(try ids(masked.validationBatch(windows: [3, 4])), try ids(reference.validationBatch(windows: [3, 4])))
            XCTAssertEqual(try ids(spans.validationBatch(windows: [3, 4])), try ids(referenceSpans.validationBatch(windows: [3, 4])))
            XCTAssertNotEqual(try ids(masked.validationBatch(windows: [3])), try ids(masked.validationBatch(windows: [4])))
        }
    }

    /// Asking for more windows than the split holds is an error naming both, never a read past the end.
    func testWindowsOutsideTheSplitAreAnError() throws {
        let d = try data()
        XCTAssertEqual(d.validationWindowCount, (3000 - 1) / 16)
        XCTAssertThrowsError(try d.validationBatch(windows: Array(180 ..< 190))) { XCTAssertTrue("\($0)".contains("187"), "\($0)") }
        // A trainer asked for more reads all of them and says so.
        let t = try trainer(config(width: 16, validationTokens: 100_000), data: d)
        XCTAssertEqual(try t.evaluate().targets, 187 * 16)
        XCTAssertEqual(t.warnings.count, 1)
    }
}
