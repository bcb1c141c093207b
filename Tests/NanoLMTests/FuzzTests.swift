import Foundation
import XCTest
import Torch
@testable import NanoLM

/// Every reader of nanolm's own files under the fuzz harness (FuzzHarness.swift): study and over-training
/// files, run configs, index.json and token shards, tokenizer files, eval task files, checkpoints and
/// tracks. CI runs 150 cases per reader (a minute on a loaded 2-core machine); NANOLM_FUZZ_CASES=N runs N.
final class FuzzTests: ScratchDirectoryTestCase {
    func testReadersNeverTrapOrHang() throws {
        let targets = try studyTargets() + dataTargets() + tokenizerTargets() + taskTargets() + checkpointTargets()
        let counts = FuzzRun.run(targets, casesPerTarget: FuzzRun.caseCount(default: 150))
        XCTAssertEqual(counts.map(\.hangs).reduce(0, +), 0)
        // Every reader both accepts some mutated files and refuses others: the mutations reach past the
        // first check and the fixtures are valid.
        for c in counts where c.cases >= 100 {
            XCTAssertGreaterThan(c.errors, 0, c.name)
            XCTAssertGreaterThan(c.accepted, 0, c.name)
        }
    }

    /// The harness can fail: a case that uses more than its limit of CPU is a hang, and so is one blocked
    /// past the wall-clock backstop; returning and throwing are not.
    func testTheHangGuardCatchesACaseThatDoesNotEnd() {
        XCTAssertEqual(FuzzRun.runCase(limit: 0.1) {
            let end = Date().addingTimeInterval(5)
            while Date() < end {}   // spins until the guard gives up on it
        }, .hang)
        XCTAssertEqual(FuzzRun.runCase(limit: 0.05) { Thread.sleep(forTimeInterval: 30) }, .hang)
        XCTAssertEqual(FuzzRun.runCase(limit: 5) {}, .accepted)
        XCTAssertEqual(FuzzRun.runCase(limit: 5) { throw CocoaError(.fileNoSuchFile) }, .rejected)
    }

    /// Writes `data` to `name` under the fuzz directory and returns its URL.
    func file(_ name: String, _ data: Data) throws -> URL {
        let url = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        return url
    }

    // MARK: Study files, over-training files, run configs

    /// The arithmetic a study plans with, on what a study file gave: counts, FLOPs and tokens per run.
    static func plan(_ spec: StudySpec) throws {
        for design in spec.designs {
            for width in [spec.baseWidth, spec.targetWidth] + spec.proxyWidths {
                var model = ModelConfig(architecture: design.architecture, layers: design.layers, width: width,
                                        vocabularySize: spec.vocabularySize ?? 512, sequenceLength: spec.budget.sequenceLength,
                                        parametrization: .muP(baseWidth: spec.baseWidth))
                if let v = design.ffnRatio { model.ffnRatio = v }
                if let v = design.headDim { model.headDim = v }
                let config = TrainingConfig(model: model, steps: spec.budget.steps, batchSize: spec.budget.batchSize)
                try config.validate()
                _ = try model.parameterCounts().scaling
                _ = try model.trainingFLOPsPerToken() * Double(config.tokensPerStep * config.steps)
            }
        }
        _ = spec.gridPoints
    }

    func studyTargets() throws -> [FuzzTarget] {
        let yaml = StudyTests.tinyYAML(options: """
            seed: 3
            options: {basinTolerance: 0.02, backtest: 1, level: 0.9, transferCheckWidths: [48]}
            """)
        let full = yaml.replacingOccurrences(of: "{name: gpt, architecture: gpt, layers: 1, headDim: 16}",
                                             with: "{name: gpt, architecture: gpt, layers: 1, headDim: 16, ffnRatio: 4, dropout: 0}\n  - {name: llama, architecture: llama, layers: 2, headDim: 16, tiedEmbeddings: true}")
        let json = """
            {"name": "tiny", "data": "synthetic", "vocabularySize": 128, "baseWidth": 32,
             "designs": [{"name": "gpt", "architecture": "t5", "layers": 1, "headDim": 16, "ffnRatio": 2.5}],
             "grid": {"learningRates": [0.003, 0.03], "initStds": [0.02], "outputMultipliers": [1]},
             "proxyWidths": [32, 48, 64, 80], "targetWidth": 128,
             "budget": {"steps": 6, "batchSize": 4, "sequenceLength": 16, "warmupSteps": 1, "decay": "linear", "lossWindow": 2,
                        "checkpointEvery": 2, "weightDecay": 0.1}}
            """
        let study = FuzzTarget(name: "study file", syntax: .yaml, fixtures: [Data(yaml.utf8), Data(full.utf8)]) { data in
            try Self.plan(StudySpec.load(try self.file("study/study.yaml", data)))
        }
        let studyJSON = FuzzTarget(name: "study JSON", syntax: .json, fixtures: [Data(json.utf8)]) { data in
            try Self.plan(StudySpec.load(try self.file("study/study.json", data)))
        }

        // Over-training: a real shard directory next to the file, so validation passes.
        let (_, shards) = try EvalTaskTests.buildShards(in: root.appendingPathComponent("ot-data"))
        let overTraining = """
            name: ot
            data: \(shards.path)
            architecture: gpt
            layers: 1
            headDim: 8
            tiedEmbeddings: true
            baseWidth: 16
            hyper: {learningRate: 0.01, initStd: 0.02, outputMultiplier: 1}
            sequenceLength: 16
            batchSize: 4
            warmupFraction: 0.05
            widths: [16, 24, 32]
            multipliers: [2, 4, 8]
            fitMaxWidth: 24
            fitMaxMultiplier: 8
            evalItems: 20
            seed: 1
            """
        let runs = """
            name: ot-runs
            data: \(shards.path)
            architecture: llama
            layers: 1
            headDim: 8
            baseWidth: 16
            sequenceLength: 16
            batchSize: 4
            runs:
              - {width: 16, multiplier: 2, fit: true}
              - {width: 16, multiplier: 4, fit: true}
              - {width: 16, multiplier: 8, fit: true}
              - {width: 24, multiplier: 2, fit: true}
              - {width: 24, multiplier: 4, fit: true}
              - {width: 32, multiplier: 20, fit: false}
            """
        let over = FuzzTarget(name: "over-training", syntax: .yaml, fixtures: [Data(overTraining.utf8), Data(runs.utf8)]) { data in
            let spec = try OverTrainingSpec.load(try self.file("ot/ot.yaml", data))
            let study = OverTrainingStudy(spec: spec, directory: self.root.appendingPathComponent("ot/out"), log: { _ in })
            for run in spec.plannedRuns() {
                let config = try study.config(width: run.width, multiplier: run.multiplier, vocabularySize: 384)
                _ = config.tokensPerStep * config.steps
            }
        }

        var config = TrainingConfig(model: ModelConfig(architecture: .bert, layers: 2, width: 64, vocabularySize: 384, sequenceLength: 32,
                                                       headDim: 16), steps: 20, batchSize: 4)
        config.recordSteps = [10]
        config.threads = 1
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let runConfig = FuzzTarget(name: "run config", syntax: .json, fixtures: [try encoder.encode(config)]) { data in
            let config = try TrainingConfig.load(try self.file("run/config.json", data))
            try config.validate()
            _ = try config.model.parameterCounts().total
            _ = try config.model.trainingFLOPsPerToken() * Double(config.tokensPerStep * config.steps)
            for step in [0, config.warmupSteps, config.steps - 1] { _ = config.schedule.learningRate(at: step) }
        }
        return [study, studyJSON, over, runConfig]
    }

    // MARK: index.json and shards

    /// Opens a shard directory as training does (checksums verified) and makes a batch of every objective.
    static func readShards(_ directory: URL) throws {
        let data = try ShardedData(directory: directory, verifyChecksums: true)
        for objective in DataObjective.allCases {
            let batches = try data.batches(objective, batchSize: 2, sequenceLength: 16, seed: 1)
            _ = try batches.trainingBatch(step: 3, micro: 0)
            _ = try batches.validationBatch(windows: [0])
        }
    }

    func dataTargets() throws -> [FuzzTarget] {
        let (_, directory) = try EvalTaskTests.buildShards(in: root.appendingPathComponent("data"))
        let indexURL = directory.appendingPathComponent(ShardIndex.fileName)
        let index = try Data(contentsOf: indexURL)
        let shardURL = directory.appendingPathComponent(try ShardIndex.read(directory: directory).splits["train"]!.shards[0].file)
        let shard = try Data(contentsOf: shardURL)
        let indexTarget = FuzzTarget(name: "index.json", syntax: .json, fixtures: [index]) { data in
            try data.write(to: indexURL)
            try shard.write(to: shardURL)
            try Self.readShards(directory)
        }
        // Half the cases enter the damaged shard in the index (its size and checksum), as if it had been
        // built that way, so its tokens reach the batch builders; the others must fail the checksum.
        let shardTarget = FuzzTarget(name: "token shard", syntax: .binary, fixtures: [shard]) { data in
            try index.write(to: indexURL)
            try data.write(to: shardURL)
            var h = FNV1a64()
            h.update(data)
            if h.value % 2 == 0 {
                var entered = try ShardIndex.read(directory: directory)
                var train = entered.splits["train"]!
                train.shards[0].checksum = h.hex
                train.shards[0].tokens = data.count / 2
                train.tokens = train.shards.reduce(0) { $0 + $1.tokens }
                entered.splits["train"] = train
                try entered.write(directory: directory)
            }
            try Self.readShards(directory)
        }
        let track = try Data(BuiltinTracks.named("nano")!.json().utf8)
        let trackTarget = FuzzTarget(name: "track", syntax: .json, fixtures: [track]) { data in
            let track = try Track.load(try self.file("track/track.json", data))
            _ = track.normalizedProportions
            _ = track.heldOutTokens
        }
        return [indexTarget, shardTarget, trackTarget]
    }

    // MARK: Tokenizer files

    func tokenizerTargets() throws -> [FuzzTarget] {
        let fixture = TokenizerTests.fixture
        let vocabulary = try Data(contentsOf: fixture("hf-vocab.json")), merges = try Data(contentsOf: fixture("hf-merges.txt"))
        let tiktoken = try Data(contentsOf: fixture("hf.tiktoken"))
        let sample = "Hello wörld 123 — the quick brown fox, \u{1F600} tokens.\n"
        func use(_ tokenizer: Tokenizer) {
            let ids = tokenizer.encode(sample)
            _ = tokenizer.decode(ids)
        }
        let dir = root.appendingPathComponent("tok")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let vocabURL = dir.appendingPathComponent("vocab.json"), mergesURL = dir.appendingPathComponent("merges.txt")
        let vocabTarget = FuzzTarget(name: "vocab.json", syntax: .json, fixtures: [vocabulary]) { data in
            try data.write(to: vocabURL)
            try merges.write(to: mergesURL)
            use(try Tokenizer(vocabulary: vocabURL, merges: mergesURL))
        }
        let mergesTarget = FuzzTarget(name: "merges.txt", syntax: .text, fixtures: [merges]) { data in
            try vocabulary.write(to: vocabURL)
            try data.write(to: mergesURL)
            use(try Tokenizer(vocabulary: vocabURL, merges: mergesURL))
        }
        let tiktokenTarget = FuzzTarget(name: ".tiktoken", syntax: .text, fixtures: [tiktoken]) { data in
            use(try Tokenizer(tiktoken: try self.file("tok/t.tiktoken", data)))
        }
        let saved = root.appendingPathComponent("tok-saved")
        try Tokenizer(vocabulary: fixture("hf-vocab.json"), merges: fixture("hf-merges.txt")).save(to: saved)
        let codec = try Data(contentsOf: saved.appendingPathComponent("codec.json"))
        let codecTarget = FuzzTarget(name: "codec.json", syntax: .json, fixtures: [codec]) { data in
            try data.write(to: saved.appendingPathComponent("codec.json"))
            use(try Tokenizer(directory: saved))
        }
        return [vocabTarget, mergesTarget, tiktokenTarget, codecTarget]
    }

    // MARK: Eval task files

    func taskTargets() throws -> [FuzzTarget] {
        let labels = Bundle.module.url(forResource: "Fixtures/eval/piqa-labels", withExtension: "lst")!
        return try TaskFormat.allCases.map { format in
            let fixture = try Data(contentsOf: Bundle.module.url(forResource: "Fixtures/eval/\(format.rawValue)", withExtension: "jsonl")!)
            return FuzzTarget(name: "tasks \(format.rawValue)", syntax: .jsonLines, fixtures: [fixture]) { data in
                let task = try TaskFile.read(try self.file("tasks/\(format.rawValue).jsonl", data), format: format,
                                             labels: format == .piqa ? labels : nil)
                _ = task.chance
                _ = task.items.map(\.solved)
            }
        }
    }

    // MARK: Checkpoints

    func checkpointTargets() throws -> [FuzzTarget] {
        var config = TrainingConfig(model: ModelConfig(architecture: .gpt, layers: 1, width: 16, vocabularySize: 16, sequenceLength: 16,
                                                       headDim: 8), steps: 2, batchSize: 4)
        config.lossWindow = 1
        config.evalBatches = 1
        config.threads = 1
        let data = try CausalLMBatches(training: TrainerTests.tokens(2000, seed: 1), validation: TrainerTests.tokens(500, seed: 2),
                                       batchSize: 4, sequenceLength: 16, seed: 3)
        let run = root.appendingPathComponent("ckpt")
        try Trainer(config: config, model: Bigram(vocabulary: 16, width: 8, seed: 0), data: data, directory: run).run()
        let checkpointURL = run.appendingPathComponent("checkpoint.safetensors")
        let checkpoint = try Data(contentsOf: checkpointURL)
        // Resuming at the checkpoint's own step trains nothing: the case reads the checkpoint as a resume
        // does (tensors, model and optimizer state, RNG, loop state) and writes it back.
        let target = FuzzTarget(name: "checkpoint", syntax: .binary, fixtures: [checkpoint]) { bytes in
            _ = try SafeTensors.decode(bytes, file: checkpointURL.path)
            try bytes.write(to: checkpointURL)
            try Trainer(config: config, model: Bigram(vocabulary: 16, width: 8, seed: 0), data: data, directory: run).run()
        }
        return [target]
    }
}
