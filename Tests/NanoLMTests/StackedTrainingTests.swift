import Foundation
import XCTest
import Torch
@testable import NanoLM

/// Same-shape runs trained together: each stacked run must end as the same run trained alone by ``Trainer``
/// (the reference) — its loss curve, held-out losses and checkpoint within float32 rounding — for GPT and
/// Llama, with R = 3 runs of different learning rate, init std and output multiplier under μP (r = 2, so
/// the per-group multipliers matter), warmup + cosine, weight decay and active clipping; and a run that
/// diverges in the stack must not move the others' curves.
final class StackedTrainingTests: XCTestCase {
    /// (l, σ, τ), seed, data seed of the three runs.
    static let runs: [(MuHyperParameters, UInt64, UInt64)] = [
        (MuHyperParameters(learningRate: 0.01, initStd: 0.02, outputMultiplier: 1), 0, 3),
        (MuHyperParameters(learningRate: 0.03, initStd: 0.05, outputMultiplier: 2), 1, 4),
        (MuHyperParameters(learningRate: 0.003, initStd: 0.1, outputMultiplier: 0.5), 2, 5),
    ]
    /// Largest difference allowed between a stacked and a solo loss (float32 rounding, grown over the steps).
    static let tolerance = 1e-4

    func config(_ architecture: Architecture, hyper: MuHyperParameters, seed: UInt64, dataSeed: UInt64) -> TrainingConfig {
        var model = ModelConfig(architecture: architecture, layers: 2, width: 32, vocabularySize: 64, sequenceLength: 16, headDim: 8,
                                tiedEmbeddings: architecture == .llama, parametrization: .muP(baseWidth: 16), hyper: hyper)
        model.ffnRatio = 2
        var c = TrainingConfig(model: model, steps: 30, batchSize: 4)
        c.warmupSteps = 5
        c.decay = .cosine
        c.clipNorm = 0.5
        c.optimizer.weightDecay = 0.1
        c.recordSteps = [20]
        c.evalSteps = [10]
        c.lossWindow = 5
        c.evalBatches = 2
        c.checkpointEvery = 0
        c.threads = 1
        c.seed = seed
        c.dataSeed = dataSeed
        return c
    }

    func data(_ config: TrainingConfig) throws -> CausalLMBatches {
        try CausalLMBatches(training: TrainerTests.tokens(4000, seed: 1), validation: TrainerTests.tokens(1000, seed: 2),
                            batchSize: config.batchSize, sequenceLength: config.model.sequenceLength, seed: config.dataSeed)
    }

    func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-stacked-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// metrics.jsonl's lines with `key`, as (step, value).
    func series(_ key: String, in directory: URL) throws -> [(Int, Double)] {
        try String(contentsOf: directory.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = object["step"] as? Int, let value = object[key] as? Double else { return nil }
            return (step, value)
        }
    }

    /// Trains `config` alone with Trainer; returns its directory.
    func solo(_ config: TrainingConfig) throws -> URL {
        let dir = temporaryDirectory()
        try Trainer(config: config, model: makeModel(config.model, seed: config.seed), data: data(config), directory: dir).run()
        return dir
    }

    /// Trains `configs` as one stack; returns their directories.
    func stacked(_ configs: [TrainingConfig]) throws -> [URL] {
        let dirs = configs.map { _ in temporaryDirectory() }
        try StackedTrainer(runs: zip(configs, dirs).map { StackedTrainer.Run(config: $0, data: try data($0), directory: $1) }).run()
        return dirs
    }

    /// The stacked run's files against the solo run's: same steps, losses and held-out losses within the
    /// tolerance, the same summary, and a checkpoint with the same tensors (weights and moments close,
    /// RNG state and step equal). Returns the largest loss difference.
    @discardableResult
    func assertSameRun(_ stacked: URL, _ solo: URL, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Double {
        var largest = 0.0
        for key in ["loss", "val_loss", "lr", "grad_norm"] {
            let (a, b) = (try series(key, in: stacked), try series(key, in: solo))
            XCTAssertEqual(a.map(\.0), b.map(\.0), "\(name): steps with \(key)", file: file, line: line)
            for ((step, x), (_, y)) in zip(a, b) {
                let allowed = Self.tolerance * max(1, abs(y)) * (key == "grad_norm" ? 10 : 1)
                XCTAssertEqual(x, y, accuracy: allowed, "\(name): \(key) at step \(step)", file: file, line: line)
                if key == "loss" { largest = max(largest, abs(x - y)) }
            }
        }
        let (s, t) = (try JSON.read(RunSummary.self, from: stacked.appendingPathComponent("summary.json")),
                      try JSON.read(RunSummary.self, from: solo.appendingPathComponent("summary.json")))
        XCTAssertEqual(s.status, t.status, name, file: file, line: line)
        XCTAssertEqual(s.steps, t.steps, name, file: file, line: line)
        XCTAssertEqual(s.divergedAtStep, t.divergedAtStep, name, file: file, line: line)
        XCTAssertEqual(s.tokens, t.tokens, name, file: file, line: line)
        XCTAssertEqual(s.parameterCount, t.parameterCount, name, file: file, line: line)
        XCTAssertEqual(s.recorded.map(\.step), t.recorded.map(\.step), name, file: file, line: line)
        for (a, b) in zip(s.recorded, t.recorded) {
            XCTAssertEqual(a.trainLoss, b.trainLoss, accuracy: Self.tolerance, name, file: file, line: line)
            XCTAssertEqual(a.validationLoss ?? .nan, b.validationLoss ?? .nan, accuracy: Self.tolerance, name, file: file, line: line)
        }
        let (c, d) = (try SafeTensors.load(stacked.appendingPathComponent("checkpoint.safetensors")),
                      try SafeTensors.load(solo.appendingPathComponent("checkpoint.safetensors")))
        XCTAssertEqual(Set(c.tensors.keys), Set(d.tensors.keys), "\(name): checkpoint keys", file: file, line: line)
        let (u, v) = (try JSONDecoder().decode(LoopState.self, from: Data((c.metadata[RunDirectory.stateKey] ?? "").utf8)),
                      try JSONDecoder().decode(LoopState.self, from: Data((d.metadata[RunDirectory.stateKey] ?? "").utf8)))
        XCTAssertEqual([u.step, u.tokens, u.divergedAt ?? -1, u.recorded.count], [v.step, v.tokens, v.divergedAt ?? -1, v.recorded.count],
                       "\(name): loop state", file: file, line: line)
        for (key, x) in c.tensors {
            guard let y = d.tensors[key] else { continue }
            XCTAssertEqual(x.shape, y.shape, "\(name): \(key)", file: file, line: line)
            if x.dtype.isFloatingPoint {
                var (x, y) = (x, y)
                if key.hasPrefix("model.") && key.hasSuffix("attn.c_attn.bias") {
                    // Softmax ignores the key bias: its gradient is zero up to rounding, which Adam's normalised
                    // step turns into ±lr moves that differ from run to run. Compare the query and value rows.
                    let w = x.shape[0] / 3
                    (x, y) = (try Tensor.cat([x.narrow(0, start: 0, length: w), x.narrow(0, start: 2 * w, length: w)]),
                              try Tensor.cat([y.narrow(0, start: 0, length: w), y.narrow(0, start: 2 * w, length: w)]))
                }
                let diff = try (x - y).abs().max().item() / max(1, try y.abs().max().item())
                XCTAssertLessThan(diff, 1e-3, "\(name): \(key) differs by \(diff) (relative)", file: file, line: line)
            } else {
                XCTAssertEqual(try x.bytes(), try y.bytes(), "\(name): \(key)", file: file, line: line)
            }
        }
        return largest
    }

    func checkThreeRunsMatchAlone(_ architecture: Architecture, change: (inout TrainingConfig) -> Void = { _ in }) throws {
        let configs = Self.runs.map { run in
            var c = config(architecture, hyper: run.0, seed: run.1, dataSeed: run.2)
            change(&c)
            return c
        }
        let solos = try configs.map { try solo($0) }
        let stacks = try stacked(configs)
        var largest = 0.0
        for i in configs.indices { largest = max(largest, try assertSameRun(stacks[i], solos[i], "\(architecture) run \(i)")) }
        // The test covers clipping only if some step clipped.
        let norms = try solos.flatMap { try series("grad_norm", in: $0).map(\.1) }
        XCTAssertTrue(norms.contains { $0 > 0.5 }, "no step clipped: raise the learning rates or lower clipNorm")
        print("\(architecture): largest loss difference stacked vs alone over \(configs.count) runs × 30 steps: \(largest)")
    }

    func testGPTRunsStackedMatchRunsAlone() throws { try checkThreeRunsMatchAlone(.gpt) }

    func testLlamaRunsStackedMatchRunsAlone() throws { try checkThreeRunsMatchAlone(.llama) }

    /// nanoT5's AdamWScale (a per-run RMS in the step size) and two accumulated micro-batches per step.
    func testAdamWScaleAndAccumulationStackedMatchRunsAlone() throws {
        try checkThreeRunsMatchAlone(.gpt) { c in
            c.optimizer.rule = .adamWScale
            c.gradientAccumulation = 2
        }
    }

    /// A run with an absurd learning rate, second in the stack: it ends diverged as it does alone, and the
    /// other three curves are still the solo curves.
    func testDivergingRunLeavesTheOthersUnchanged() throws {
        let configs = Self.runs.map { config(.gpt, hyper: $0.0, seed: $0.1, dataSeed: $0.2) }
        var absurd = config(.gpt, hyper: MuHyperParameters(learningRate: 1e3, initStd: 0.05, outputMultiplier: 1), seed: 7, dataSeed: 8)
        absurd.clipNorm = 0.5
        let stack = [configs[0], absurd, configs[1], configs[2]]
        let solos = try stack.map { try solo($0) }
        let dirs = try stacked(stack)
        let summary = try JSON.read(RunSummary.self, from: dirs[1].appendingPathComponent("summary.json"))
        XCTAssertEqual(summary.status, .diverged)
        XCTAssertLessThan(summary.steps, 30)
        for i in stack.indices { try assertSameRun(dirs[i], solos[i], "run \(i)\(i == 1 ? " (diverging)" : "")") }
    }

    /// Interrupted stacked at step 12, then resumed stacked (two runs) and alone (one run): each ends as
    /// the run trained straight through alone.
    func testInterruptedStackResumesStackedOrAlone() throws {
        let configs = Self.runs.map { config(.llama, hyper: $0.0, seed: $0.1, dataSeed: $0.2) }
        let solos = try configs.map { try solo($0) }
        let dirs = configs.map { _ in temporaryDirectory() }
        let stack = try StackedTrainer(runs: zip(configs, dirs).map { StackedTrainer.Run(config: $0, data: try data($0), directory: $1) })
        let partial = try stack.run { _, p in if p.step == 12 { StopRequest.isRequested = true } }
        StopRequest.isRequested = false
        XCTAssertEqual(partial.map(\.status), [.interrupted, .interrupted, .interrupted])
        XCTAssertEqual(partial.map(\.steps), [12, 12, 12])
        try StackedTrainer(runs: [0, 2].map { StackedTrainer.Run(config: configs[$0], data: try data(configs[$0]), directory: dirs[$0]) }).run()
        try Trainer(config: configs[1], model: makeModel(configs[1].model, seed: configs[1].seed), data: data(configs[1]), directory: dirs[1]).run()
        for i in configs.indices { try assertSameRun(dirs[i], solos[i], "resumed run \(i)") }
    }

    func testRunsOfOtherShapesOrArchitecturesAreNotStacked() {
        let a = config(.gpt, hyper: Self.runs[0].0, seed: 0, dataSeed: 0)
        var wider = a
        wider.model.width = 64
        XCTAssertNil(StackedTrainer.obstacle([a, config(.gpt, hyper: Self.runs[1].0, seed: 5, dataSeed: 6)]))
        XCTAssertNotNil(StackedTrainer.obstacle([a, wider]))
        XCTAssertNotNil(StackedTrainer.obstacle([config(.bert, hyper: Self.runs[0].0, seed: 0, dataSeed: 0)]))
        var dropout = a
        dropout.model.dropout = 0.1
        XCTAssertNotNil(StackedTrainer.obstacle([dropout, dropout]))
        XCTAssertThrowsError(try StackedTrainer(runs: [StackedTrainer.Run(config: a, data: try data(a), directory: temporaryDirectory()),
                                                       StackedTrainer.Run(config: wider, data: try data(wider), directory: temporaryDirectory())]))
    }
}
