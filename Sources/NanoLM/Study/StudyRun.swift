import Foundation
import ModelSpec

/// The phase of Algorithm 1 a run belongs to.
public enum RunPhase: String, Codable, Sendable, CaseIterable {
    /// The hyperparameter search at the base width (and the transfer check's other widths).
    case grid
    /// A proxy at the chosen hyperparameters.
    case proxy
    /// The target width, trained to check the prediction.
    case target
}

/// Where a run stands in the study database.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case pending, running, done, diverged, failed
}

/// A run the study needs: one design at one width with one set of μTransferable hyperparameters.
public struct StudyRun: Sendable {
    public var id: String
    public var study: String
    public var design: String
    public var phase: RunPhase
    public var width: Int
    public var hyper: MuHyperParameters
    /// μScaling's C (embeddings included; docs/DESIGN.md).
    public var parameters: Int
    /// Counted training FLOPs of the whole run.
    public var flops: Double
    public var steps: Int
    public var directory: String
    public var config: TrainingConfig
    /// k of the study's `seeds`: the run trains with seed + k and dataSeed + k.
    public var seedIndex = 0

    public var files: RunDirectory { RunDirectory(path: directory) }
    /// "gpt width 64 lr 0.01" ("… seed 2" for k > 0): how the narration names the run.
    public var label: String { "\(design) width \(width) lr \(hyper.learningRate)" + (seedIndex > 0 ? " seed \(seedIndex)" : "") }
}

/// One run for an executor to train: its directory (config.json and data.txt are written before it
/// trains), its config and data, and its FLOPs (for the phase's ETA).
public struct TrainingJob: Sendable {
    public var label: String
    public var directory: RunDirectory
    public var config: TrainingConfig
    public var data: String
    public var flops: Double

    public init(label: String, directory: RunDirectory, config: TrainingConfig, data: String, flops: Double) {
        self.label = label
        self.directory = directory
        self.config = config
        self.data = data
        self.flops = flops
    }

    /// Writes config.json (unless it is there: it is the run's identity) and data.txt.
    func prepare() throws {
        try directory.create()
        if !directory.hasConfig { try directory.writeConfig(config) }
        try directory.writeData(data)
    }
}

/// How a run ended, as an executor saw it.
public enum RunOutcome: Sendable, Codable {
    /// It ended for good: completed or diverged (its summary.json says which).
    case finished(RunSummary)
    /// It stopped at a checkpoint on a stop request and resumes on the next `study run`.
    case interrupted
    /// It could not train; the message says why and where the log is.
    case failed(String)
}

/// Ends a study early without an error in the study itself.
public enum StudyStop: Error, LocalizedError {
    /// SIGINT or SIGTERM: the runs checkpointed; rerunning resumes them.
    case interrupted
    /// `--dry-run`: the first pending phase's script was printed, nothing was submitted.
    case dryRun(script: String)

    public var errorDescription: String? {
        switch self {
        case .interrupted: return "interrupted: rerun `nanolm study run` to resume from the checkpoints"
        case let .dryRun(script): return "dry run: nothing submitted (the script is in \(script))"
        }
    }
}
