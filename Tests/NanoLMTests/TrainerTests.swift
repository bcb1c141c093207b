import Foundation
import XCTest
import Torch
@testable import NanoLM

/// A bigram language model: the smallest LanguageModel, so the trainer is tested apart from the
/// transformer architectures.
final class Bigram: LanguageModel {
    let embedding: Embedding
    let head: Linear
    let vocabulary: Int

    init(vocabulary: Int, width: Int, seed: UInt64) throws {
        self.vocabulary = vocabulary
        embedding = try Embedding("embed", count: vocabulary, width: width)
        head = try Linear("head", in: width, out: vocabulary, bias: false, role: .output)
        try Parametrization(kind: .muP, baseWidth: 8, zeroReadout: false)
            .initialize(parameters, width: width, hyper: MuHyperParameters(initStd: 0.5), generator: Generator(seed: seed))
    }

    var parameters: [Parameter] { embedding.parameters + head.parameters }

    func loss(_ batch: Batch, training: Bool) throws -> Tensor {
        let logits = try head(embedding(batch.inputs))  // [B, T, V]
        return try crossEntropy(logits.reshape([-1, vocabulary]), batch.targets.reshape([-1]))
    }

    func logits(for batch: Batch) throws -> Tensor { try head(embedding(batch.inputs)) }  // [B, T, V]
}

/// Records which batches a trainer asked for.
final class RecordingSource: BatchSource {
    let inner: CausalLMBatches
    var requested: [[Int64]] = []
    init(_ inner: CausalLMBatches) { self.inner = inner }
    func trainingBatch(step: Int, micro: Int) throws -> Batch {
        let b = try inner.trainingBatch(step: step, micro: micro)
        requested.append(try b.inputs.toArray(Int64.self))
        return b
    }
    func validationBatch(windows: [Int]) throws -> Batch { try inner.validationBatch(windows: windows) }
    var validationWindowCount: Int { inner.validationWindowCount }
    var validationWindowTokens: Int { inner.validationWindowTokens }
}

final class TrainerTests: XCTestCase {
    /// A stream where each token mostly predicts the next: 0 1 2 … 15 0 1 …, with 10% noise.
    static func tokens(_ n: Int, seed: UInt64) -> [Int32] {
        var random = CounterRandom(seed: seed)
        return (0 ..< n).map { i in random.nextUnit() < 0.1 ? Int32(random.next(below: 16)) : Int32(i % 16) }
    }

    func data(seed: UInt64 = 3) throws -> CausalLMBatches {
        try CausalLMBatches(training: Self.tokens(4000, seed: 1), validation: Self.tokens(1000, seed: 2),
                            batchSize: 8, sequenceLength: 16, seed: seed)
    }

    func config(steps: Int = 40, lr: Double = 0.05, width: Int = 16) -> TrainingConfig {
        var model = ModelConfig(architecture: .gpt, layers: 1, width: width, vocabularySize: 16, sequenceLength: 16, headDim: 8)
        model.hyper.learningRate = lr
        var c = TrainingConfig(model: model, steps: steps, batchSize: 8)
        c.warmupSteps = min(5, steps)
        c.recordSteps = steps >= 20 ? [20] : []
        c.lossWindow = 5
        c.evalBatches = 2
        c.threads = 1
        return c
    }

    func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-trainer-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func losses(in directory: URL) throws -> [Double] {
        try String(contentsOf: directory.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap { line in
                (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["loss"] as? Double
            }
    }

    func testLossFallsAndRunFilesAreWritten() throws {
        let dir = temporaryDirectory()
        let trainer = try Trainer(config: config(), model: Bigram(vocabulary: 16, width: 16, seed: 0), data: data(), directory: dir)
        let summary = try trainer.run()
        XCTAssertEqual(summary.status, .completed)
        XCTAssertEqual(summary.steps, 40)
        let l = try losses(in: dir)
        XCTAssertEqual(l.count, 40)
        XCTAssertLessThan(l.suffix(5).reduce(0, +) / 5, l[0] - 1, "loss did not fall: \(l.first!) → \(l.last!)")
        XCTAssertEqual(summary.recorded.map(\.step), [20, 40])
        // The fit loss at step 20 is the mean of the training losses of steps 16…20.
        XCTAssertEqual(summary.recorded[0].trainLoss, l[15 ..< 20].reduce(0, +) / 5, accuracy: 1e-12)
        XCTAssertNotNil(summary.recorded[0].validationLoss)
        for file in ["config.json", "metrics.jsonl", "checkpoint.safetensors", "summary.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), file)
        }
    }

    /// Interrupt after 17 steps, resume in a new trainer: every step's loss equals an uninterrupted run's, bitwise.
    func testResumeContinuesTheSameTrajectoryBitwise() throws {
        let straight = temporaryDirectory()
        try Trainer(config: config(), model: Bigram(vocabulary: 16, width: 16, seed: 0), data: data(), directory: straight).run()

        let resumed = temporaryDirectory()
        let first = try Trainer(config: config(), model: Bigram(vocabulary: 16, width: 16, seed: 0), data: data(), directory: resumed)
        let partial = try first.run { progress in if progress.step == 17 { StopRequest.isRequested = true } }
        StopRequest.isRequested = false
        XCTAssertEqual(partial.status, .interrupted)
        XCTAssertEqual(partial.steps, 17)
        // A fresh model with another seed: everything must come from the checkpoint.
        let second = try Trainer(config: config(), model: Bigram(vocabulary: 16, width: 16, seed: 99), data: data(), directory: resumed)
        let summary = try second.run()
        XCTAssertEqual(summary.status, .completed)
        XCTAssertEqual(try losses(in: resumed), try losses(in: straight))
        XCTAssertEqual(summary.recorded, try JSON.read(RunSummary.self, from: straight.appendingPathComponent("summary.json")).recorded)
    }

    func testRunsAreReproducible() throws {
        let a = temporaryDirectory(), b = temporaryDirectory()
        try Trainer(config: config(steps: 10), model: Bigram(vocabulary: 16, width: 16, seed: 5), data: data(), directory: a).run()
        try Trainer(config: config(steps: 10), model: Bigram(vocabulary: 16, width: 16, seed: 5), data: data(), directory: b).run()
        XCTAssertEqual(try losses(in: a), try losses(in: b))
    }

    func testHugeLearningRateEndsDiverged() throws {
        let dir = temporaryDirectory()
        var c = config(steps: 200, lr: 1e4)
        c.warmupSteps = 0
        let summary = try Trainer(config: c, model: Bigram(vocabulary: 16, width: 16, seed: 0), data: data(), directory: dir).run()
        XCTAssertEqual(summary.status, .diverged)
        XCTAssertNotNil(summary.divergedAtStep)
        XCTAssertLessThan(summary.divergedAtStep!, 50)
        // Rerunning a diverged run does not train on.
        let again = try Trainer(config: c, model: Bigram(vocabulary: 16, width: 16, seed: 0), data: data(), directory: dir).run()
        XCTAssertEqual(again.status, .diverged)
        XCTAssertEqual(again.steps, summary.steps)
    }

    func testTwoWidthsSeeIdenticalBatches() throws {
        let narrow = RecordingSource(try data()), wide = RecordingSource(try data())
        try Trainer(config: config(steps: 6, width: 16), model: Bigram(vocabulary: 16, width: 16, seed: 0), data: narrow,
                    directory: temporaryDirectory()).run()
        try Trainer(config: config(steps: 6, width: 64), model: Bigram(vocabulary: 16, width: 64, seed: 1), data: wide,
                    directory: temporaryDirectory()).run()
        XCTAssertEqual(narrow.requested.count, 6)
        XCTAssertEqual(narrow.requested, wide.requested)
        XCTAssertNotEqual(narrow.requested[0], narrow.requested[1])
    }

    func testCorruptCheckpointIsAClearError() throws {
        let dir = temporaryDirectory()
        try Trainer(config: config(steps: 3), model: Bigram(vocabulary: 16, width: 16, seed: 0), data: data(), directory: dir).run()
        let checkpoint = dir.appendingPathComponent("checkpoint.safetensors")
        let bytes = try Data(contentsOf: checkpoint)
        try bytes.prefix(bytes.count / 2).write(to: checkpoint)
        let trainer = try Trainer(config: config(steps: 6), model: Bigram(vocabulary: 16, width: 16, seed: 0), data: data(), directory: dir)
        XCTAssertThrowsError(try trainer.run()) { error in
            XCTAssertTrue("\(error)".contains("checkpoint.safetensors"), "\(error)")
        }
    }

    func testInvalidConfigurationNamesTheField() {
        var c = config()
        c.recordSteps = [500]
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("recordSteps"), "\($0)") }
    }
}
