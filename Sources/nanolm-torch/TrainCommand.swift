import ArgumentParser
import LawCommands
import Foundation
import NanoLM
import Torch

/// `nanolm train`: one training run, from a config file and/or flags, into its own directory.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TorchCommand.train.rawValue,
        abstract: TorchCommand.train.abstract,
        discussion: """
            A run lives in its own directory (--out): config.json, metrics.jsonl (one JSON line per step), \
            checkpoint.safetensors and summary.json. Running again on the same directory resumes from the \
            checkpoint; Ctrl-C saves a checkpoint and stops cleanly.

            Flags override the values of --config. Examples:
              nanolm train --arch gpt --layers 4 --width 256 --steps 200 --data synthetic --out runs/gpt-256
              nanolm train --config runs/gpt-256/config.json --data data/nano --out runs/gpt-256
              nanolm train --resume runs/gpt-256
            """)

    @Option(help: "A TrainingConfig JSON file (e.g. a run's config.json).") var config: String?
    @Option(help: "Resume the run in this directory (its config.json and checkpoint).") var resume: String?
    @Option(help: "Run directory to write.") var out: String?
    @Option(help: "Token data: a directory made by `nanolm data build`, or 'synthetic' (random tokens, for benchmarks).")
    var data: String?

    @Option(help: "Architecture: gpt, llama, bert or t5.") var arch: Architecture?
    @Option(help: "Transformer blocks.") var layers: Int?
    @Option(help: "Width (d_model).") var width: Int?
    @Option(help: "Vocabulary size.") var vocab: Int?
    @Option(name: .customLong("seq-len"), help: "Sequence length.") var sequenceLength: Int?
    @Option(name: .customLong("head-dim"), help: "Head size (heads = width / head-dim).") var headDim: Int?
    @Option(help: "Parametrization: mup or sp.") var param: ParametrizationOption?
    @Option(name: .customLong("base-width"), help: "μP base width.") var baseWidth: Int?
    @Option(help: "Base learning rate l (μTransferable).") var lr: Double?
    @Option(name: .customLong("init-std"), help: "Initialisation std σ (μTransferable).") var initStd: Double?
    @Option(name: .customLong("output-mult"), help: "Output multiplier τ (μTransferable).") var outputMultiplier: Double?
    @Option(help: "Optimizer steps.") var steps: Int?
    @Option(help: "Sequences per micro-batch.") var batch: Int?
    @Option(help: "Gradient accumulation micro-batches per step.") var accumulate: Int?
    @Option(help: "Warmup steps.") var warmup: Int?
    @Option(help: "Decay after warmup: cosine, linear or constant.") var decay: Schedule.Decay?
    @Option(help: "Optimizer: adamw or adamwscale.") var optimizer: AdamW.Rule?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.") var weightDecay: Double?
    @Option(help: "Gradient-norm clip (0: off).") var clip: Double?
    @Option(help: "Model seed.") var seed: UInt64?
    @Option(name: .customLong("data-seed"), help: "Batch-order seed.") var dataSeed: UInt64?
    @Option(help: "Comma-separated steps at which to record the fit loss.") var record: String?
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N steps (0: at the end only).") var checkpointEvery: Int?
    @Flag(help: "Forward passes under bfloat16 autocast.") var autocast = false
    @Option(help: "libtorch threads (default: all cores).") var threads: Int?
    @Option(help: deviceHelp) var device: DeviceChoice?
    @Flag(help: "Print the summary as JSON.") var json = false
    @Option(help: "Data-parallel processes on this machine (each trains on its slice of every global batch).")
    var nproc = 1
    @Flag(help: "With data parallelism: shard AdamW moments across ranks (ZeRO stage 1).") var zero = false
    @Option(name: .customLong("timeout"), help: "Seconds a collective may wait for the other ranks before the run fails.")
    var collectiveTimeout = 300.0

    func validate() throws {
        if resume == nil && out == nil { throw ValidationError("give --out DIR for a new run, or --resume DIR") }
        if resume == nil && data == nil { throw ValidationError("give --data DIR (from `nanolm data build`) or --data synthetic") }
    }

    func run() throws {
        let distributed = try DistributedEnvironment.current()
        if let parent = ProcessInfo.processInfo.environment[StopRequest.parentVariable].flatMap(Int32.init) {
            StopRequest.exitsOnSecondRequest = false   // the study stops it, after its checkpoint
            StopRequest.whenParentExits(parent)
        }
        if nproc > 1 && distributed == nil { return try launchRanks() }
        let directory = URL(fileURLWithPath: resume ?? out!)
        let run = RunDirectory(directory)
        var base: TrainingConfig
        if resume != nil {
            base = try run.readConfig()
        } else if let path = self.config {
            base = try RunDirectory.readConfig(URL(fileURLWithPath: path))
        } else {
            base = TrainingConfig(model: ModelConfig(architecture: arch ?? .gpt), steps: 100, batchSize: 8)
        }
        let config = try applyFlags(to: base)
        try config.validate()
        _ = try (config.device ?? .auto).resolve(slot: distributed?.rank ?? 0)  // a missing GPU fails before any work
        // A resumed run trains on the data it recorded; a new run without --data was refused by validate().
        let dataSpec = try run.data(given: data)
        let source = try openTrainingData(dataSpec, config: config)
        try run.create()
        try run.writeData(dataSpec)

        let model = try makeModel(config.model, seed: config.seed)
        var data = source
        var parallel: DataParallel?
        if let distributed {
            FileHandle.standardError.write(Data("[train] data parallel: rank \(distributed.rank) of \(distributed.worldSize), rendezvous at \(distributed.masterAddress):\(distributed.masterPort)\n".utf8))
            let group = try ProcessGroup(masterAddress: distributed.masterAddress, port: distributed.masterPort,
                                         rank: distributed.rank, worldSize: distributed.worldSize, timeout: collectiveTimeout)
            parallel = DataParallel(group: group, shardOptimizerState: zero)
            data = RankSlice(source, rank: distributed.rank, worldSize: distributed.worldSize)
        }
        let trainer = try Trainer(config: config, model: model, data: data, directory: directory)
        trainer.dataParallel = parallel
        let quiet = json || (distributed.map { $0.rank != 0 } ?? false)
        let progress = quiet ? nil : ProgressLine()
        let summary = try trainer.run { p in
            let eta = p.step > 0 ? p.elapsed / Double(p.step) * Double(p.totalSteps - p.step) : 0
            progress?.update(String(format: "step %d/%d  loss %.4f  lr %.2e  %.0f tok/s  ETA %.0fs", p.step, p.totalSteps, p.loss,
                                    p.learningRate, p.tokensPerSecond, eta), fraction: Double(p.step) / Double(max(p.totalSteps, 1)))
        }
        progress?.finish()
        if quiet && !json { return }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(summaryText(summary, directory: directory))
        }
        if summary.status == .interrupted { throw ExitCode(130) }
    }

    /// `--nproc N`: runs N copies of this command as ranks 0…N−1 (torchrun's variables, a free port on
    /// loopback), splitting the threads; if one fails the others are stopped and the run fails.
    func launchRanks() throws {
        let port = 29500 + Int.random(in: 0 ..< 10000)
        var arguments = Array(CommandLine.arguments.dropFirst())
        if let i = arguments.firstIndex(where: { $0 == "--nproc" }) { arguments.removeSubrange(i ... i + 1) }
        arguments.removeAll { $0.hasPrefix("--nproc=") }
        let perRank = max(1, (threads ?? ProcessInfo.processInfo.activeProcessorCount) / nproc)
        if threads == nil { arguments += ["--threads", "\(perRank)"] }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0]
                                                                                      : "/proc/self/exe").resolvingSymlinksInPath()
        let ranks = try (0 ..< nproc).map { rank in
            let p = Process()
            p.executableURL = executable
            p.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            env.merge(["RANK": "\(rank)", "LOCAL_RANK": "\(rank)", "WORLD_SIZE": "\(nproc)", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": "\(port)"]) { $1 }
            p.environment = env
            try p.run()
            return p
        }
        var failed: Int32 = 0
        while ranks.contains(where: \.isRunning) {
            if let bad = ranks.first(where: { !$0.isRunning && $0.terminationStatus != 0 }) {
                failed = bad.terminationStatus
                for p in ranks where p.isRunning { p.terminate() }
            }
            usleep(100_000)
        }
        if failed == 0, let bad = ranks.first(where: { $0.terminationStatus != 0 }) { failed = bad.terminationStatus }
        if failed != 0 {
            FileHandle.standardError.write(Data("error: a rank exited with status \(failed); the others were stopped. Resume with the same command.\n".utf8))
            throw ExitCode(failed)
        }
    }

    func applyFlags(to base: TrainingConfig) throws -> TrainingConfig {
        var c = base
        if let arch { c.model.architecture = arch }
        if let layers { c.model.layers = layers }
        if let width { c.model.width = width }
        if let vocab { c.model.vocabularySize = vocab }
        if let sequenceLength { c.model.sequenceLength = sequenceLength }
        if let headDim { c.model.headDim = headDim }
        if let param {
            c.model.parametrization = param.parametrization(baseWidth: baseWidth ?? c.model.parametrization.baseWidth)
        } else if let baseWidth {
            c.model.parametrization.baseWidth = baseWidth
        }
        if let lr { c.model.hyper.learningRate = lr }
        if let initStd { c.model.hyper.initStd = initStd }
        if let outputMultiplier { c.model.hyper.outputMultiplier = outputMultiplier }
        if let steps { c.steps = steps }
        if let batch { c.batchSize = batch }
        if let accumulate { c.gradientAccumulation = accumulate }
        if let warmup { c.warmupSteps = warmup }
        if let decay { c.decay = decay }
        if let optimizer { c.optimizer.rule = optimizer }
        if let weightDecay { c.optimizer.weightDecay = weightDecay }
        if let clip { c.clipNorm = clip }
        if let seed { c.seed = seed }
        if let dataSeed { c.dataSeed = dataSeed }
        if let record {
            c.recordSteps = try record.split(separator: ",").map {
                guard let s = Int($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--record: '\($0)' is not a step number") }
                return s
            }
        }
        if let checkpointEvery { c.checkpointEvery = checkpointEvery }
        if autocast { c.autocast = true }
        if let threads { c.threads = threads }
        if let device { c.device = device }
        if c.warmupSteps > c.steps { c.warmupSteps = c.steps }
        return c
    }

    func summaryText(_ s: RunSummary, directory: URL) -> String {
        var lines = ["\(s.status.rawValue) after \(s.steps) steps" + (s.divergedAtStep.map { " (diverged at step \($0))" } ?? "")]
        if let final = s.finalLoss { lines.append(String(format: "final loss %.4f", final)) }
        for r in s.recorded {
            lines.append(String(format: "step %d: fit loss %.4f", r.step, r.trainLoss) + (r.validationLoss.map { String(format: ", held-out %.4f", $0) } ?? ""))
        }
        lines.append(String(format: "%d parameters, %.0f tokens/s, %.1f s, peak memory %.0f MiB", s.parameterCount,
                            s.tokensPerSecond, s.elapsed, Double(s.peakResidentBytes) / 1_048_576))
        lines.append("run directory: \(directory.path)")
        return lines.joined(separator: "\n")
    }
}
