import Foundation
import ModelSpec

/// Everything one training run needs besides its data: the model, the budget, the optimizer, and what
/// to record. Stored as the run directory's `config.json`; its hash identifies the run in a study.
public struct TrainingConfig: Codable, Hashable, Sendable {
    public var model: ModelConfig
    /// Optimizer steps.
    public var steps: Int
    /// Sequences per micro-batch.
    public var batchSize: Int
    /// Micro-batches accumulated per optimizer step.
    public var gradientAccumulation = 1
    /// Linear warmup steps, then `decay` to `finalLearningRate` at `steps`.
    public var warmupSteps = 0
    public var decay: Schedule.Decay = .cosine
    /// The floor of the decay (nanoT5's final_cosine).
    public var finalLearningRate = 1e-5
    public var optimizer = AdamW.Options()
    /// Global gradient-norm clip; 0 turns clipping off.
    public var clipNorm = 1.0
    /// Seeds model initialisation (and dropout).
    public var seed: UInt64 = 0
    /// Seeds the batch order; independent of the model, so every width sees the same batches.
    public var dataSeed: UInt64 = 0
    /// Steps at which the fit loss is recorded (the final step always is).
    public var recordSteps: [Int] = []
    /// The fit loss at a recording step is the mean training loss over this many steps before it
    /// (the paper's code: 100). See docs/DESIGN.md.
    public var lossWindow = 100
    /// Steps at which held-out loss is evaluated, besides every recording step.
    public var evalSteps: [Int] = []
    /// Without ``validationTokens``: each evaluation reads `evalBatches` × `batchSize` windows of the fixed
    /// validation set.
    public var evalBatches = 4
    /// Target tokens each evaluation reads from the fixed validation set (the first ⌈n / window⌉ windows of the
    /// data's validation split; all of them when the split holds fewer). nil: ``evalBatches`` batches' worth.
    /// See ``Trainer/evaluate()`` and docs/DESIGN.md ("The validation set").
    public var validationTokens: Int?
    /// Write a checkpoint every this many steps (0: only at the end and on interruption).
    public var checkpointEvery = 0
    /// A loss above this multiple of the first step's loss (or a non-finite one) ends the run as diverged.
    public var divergenceFactor = 1.5
    /// Run forward passes under bfloat16 autocast (parameters and optimizer state stay float32).
    public var autocast = false
    /// libtorch intra-op threads (nil: all cores).
    public var threads: Int?
    /// Where to train (nil: ``DeviceChoice/auto``). Like `threads`, a how and not a what: results agree
    /// across devices within floating-point tolerance and checkpoints move between them, so a study
    /// leaves it out of its runs' configs (and their ids) and passes it at run time.
    public var device: DeviceChoice?

    public init(model: ModelConfig, steps: Int, batchSize: Int) {
        self.model = model
        self.steps = steps
        self.batchSize = batchSize
    }

    /// Reads a TrainingConfig JSON file (a run's config.json); errors name the file and the field. Not
    /// validated: `nanolm train` validates after its flags override the file's values.
    public static func load(_ url: URL) throws -> TrainingConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.invalidConfiguration("\(url.path): cannot read a training config: \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(TrainingConfig.self, from: data) } catch let error as DecodingError {
            throw ModelError.invalidConfiguration("\(url.path): not a training config: \(describe(error))")
        }
    }

    /// The learning-rate schedule for the base (μTransferable) learning rate.
    public var schedule: Schedule {
        Schedule(decay: decay, peak: model.hyper.learningRate, warmupSteps: warmupSteps, totalSteps: steps,
                 floor: finalLearningRate)
    }

    /// Validation windows each evaluation asks for, windows of `windowTokens` tokens.
    public func validationWindows(windowTokens: Int) -> Int {
        guard let n = validationTokens else { return evalBatches * batchSize }
        return (n + windowTokens - 1) / max(windowTokens, 1)
    }

    /// Tokens consumed per optimizer step.
    public var tokensPerStep: Int { batchSize * gradientAccumulation * model.sequenceLength }

    /// Checks the numbers fit together; the error names the field.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ModelError.invalidConfiguration(message) } }
        try model.validate()
        try check((1 ... Limits.steps).contains(steps), "steps must be in 1...\(Limits.steps), got \(steps)")
        try check((1 ... Limits.batchSize).contains(batchSize), "batchSize must be in 1...\(Limits.batchSize), got \(batchSize)")
        try check((1 ... Limits.batchSize).contains(gradientAccumulation),
                  "gradientAccumulation must be in 1...\(Limits.batchSize), got \(gradientAccumulation)")
        try check(batchSize * model.sequenceLength <= Limits.tokensPerMicroBatch,
                  "batchSize × sequenceLength is \(batchSize * model.sequenceLength) tokens per micro-batch, above the limit of \(Limits.tokensPerMicroBatch): use a smaller batch with gradient accumulation (--accumulate)")
        let (tokens, overflow) = tokensPerStep.multipliedReportingOverflow(by: steps)
        try check(!overflow && tokens <= Limits.totalTokens,
                  "steps × tokens per step (\(steps) × \(tokensPerStep)) exceeds \(Limits.totalTokens) tokens: train fewer steps or smaller batches")
        try check(evalBatches >= 1 && evalBatches <= Limits.batchSize, "evalBatches must be in 1...\(Limits.batchSize), got \(evalBatches)")
        try check(validationTokens.map { (1 ... Limits.totalTokens).contains($0) } ?? true,
                  "validationTokens must be in 1...\(Limits.totalTokens), got \(validationTokens ?? 0)")
        try check(evalSteps.allSatisfy { (1 ... steps).contains($0) }, "evalSteps must lie in 1...\(steps), got \(evalSteps)")
        try check(checkpointEvery >= 0, "checkpointEvery must not be negative, got \(checkpointEvery)")
        try check(threads.map { (1 ... 4096).contains($0) } ?? true, "threads must be in 1...4096, got \(threads ?? 0)")
        try check(clipNorm >= 0 && clipNorm.isFinite && finalLearningRate >= 0 && finalLearningRate.isFinite,
                  "clipNorm and finalLearningRate must be finite and not negative, got \(clipNorm) and \(finalLearningRate)")
        try check(warmupSteps >= 0 && warmupSteps <= steps, "warmupSteps must be in 0...steps, got \(warmupSteps)")
        try check(lossWindow >= 1, "lossWindow must be at least 1, got \(lossWindow)")
        try check(recordSteps.allSatisfy { (1 ... steps).contains($0) }, "recordSteps must lie in 1...\(steps), got \(recordSteps)")
        try check(model.hyper.learningRate > 0, "learningRate must be positive, got \(model.hyper.learningRate)")
        try check(divergenceFactor > 1, "divergenceFactor must exceed 1, got \(divergenceFactor)")
    }
}
