import Foundation
import Torch

/// What an export reads from a run directory written by `nanolm train`: the training config, the
/// checkpoint's weights (only the model: no optimizer moments, no RNG state), the summary with its
/// losses, and the tokenizer of the data the run trained on.
public struct ExportSource {
    public let directory: URL
    public let config: TrainingConfig
    public let model: any LanguageModel
    /// The optimizer step the weights are from.
    public let step: Int
    /// summary.json, when the run has finished.
    public let summary: RunSummary?
    /// The data the run trained on (data.txt: a shard directory or "synthetic").
    public let data: String
    /// The tokenizer that made the data; nil for synthetic data.
    public let codec: (any TokenCodec)?

    public init(directory: URL, config: TrainingConfig, model: any LanguageModel, step: Int, summary: RunSummary? = nil,
                data: String = "synthetic", codec: (any TokenCodec)? = nil) {
        self.directory = directory
        self.config = config
        self.model = model
        self.step = step
        self.summary = summary
        self.data = data
        self.codec = codec
    }

    /// Opens `directory`; `step`: the step the checkpoint must be from (the trainer keeps only its latest);
    /// `dataOverride`: the data directory (for its tokenizer) when data.txt's path no longer resolves.
    public init(run directory: URL, step expectedStep: Int? = nil, data dataOverride: String? = nil) throws {
        func fail(_ path: String, _ reason: String) -> ExportError { .run(path, reason) }
        let run = RunDirectory(directory)
        let (config, model, step): (TrainingConfig, any LanguageModel, Int?)
        do { (config, model, step) = try run.loadTrainedModel() } catch let error as RunDirectoryError { throw fail(error.path, error.problem) }
        try config.validate()
        guard let step else { throw fail(run.checkpointURL.path, "not a nanolm checkpoint (no loop state in its metadata)") }
        if let expectedStep, expectedStep != step {
            throw fail(run.checkpointURL.path, "the checkpoint is from step \(step), not \(expectedStep): a run keeps only its latest checkpoint; omit --step to export step \(step)")
        }
        let data = run.readData()?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "synthetic"
        self.directory = directory
        self.config = config
        self.model = model
        self.step = step
        self.summary = run.readSummary()
        self.data = dataOverride ?? data
        self.codec = try Self.tokenizer(dataOverride ?? Self.resolve(data, near: directory))
    }

    /// A relative data path as the run recorded it: from the working directory if it is there, else from the
    /// nearest directory above the run that holds it (`nanolm train --data data/x --out runs/y` in one place).
    static func resolve(_ data: String, near run: URL) throws -> String {
        let fm = FileManager.default
        guard data != "synthetic", !data.hasPrefix("/"), !fm.fileExists(atPath: data) else { return data }
        var parent = run.standardizedFileURL.deletingLastPathComponent()
        while parent.path != "/" {
            let candidate = parent.appendingPathComponent(data)
            if fm.fileExists(atPath: candidate.appendingPathComponent(ShardIndex.fileName).path) { return candidate.path }
            parent.deleteLastPathComponent()
        }
        throw ExportError.run(run.appendingPathComponent("data.txt").path,
                              "the run trained on '\(data)', which is neither here nor above the run: pass --data DIR (the data directory, for its tokenizer), or --data synthetic to export without a tokenizer")
    }

    /// The tokenizer saved with a shard directory; nil for synthetic data.
    static func tokenizer(_ data: String) throws -> (any TokenCodec)? {
        guard data != "synthetic" else { return nil }
        let directory = URL(fileURLWithPath: data)
        let index = try ShardIndex.read(directory: directory)
        if index.tokenizer.name == "bytes" { return ByteCodec() }
        return try TokenCodecs.load(index.tokenizer.name, from: directory.appendingPathComponent(index.tokenizer.directory ?? "tokenizer"))
    }

    /// The special ids: the tokenizer's, or those synthetic data uses.
    public var special: SpecialTokens { codec?.special ?? .synthetic(vocabularySize: config.model.vocabularySize) }

    /// The run of `design` at `width` in the study `spec` kept in `studyDirectory` (a finished one; among
    /// several at that width, a proxy or target run before the grid's, then the lowest loss).
    public static func studyRun(_ spec: StudySpec, directory studyDirectory: URL, design: String, width: Int) throws -> URL {
        let database = studyDirectory.appendingPathComponent("study.sqlite")
        guard FileManager.default.fileExists(atPath: database.path) else {
            throw ExportError.run(studyDirectory.path, "no study.sqlite: run the study first (`nanolm study run FILE`), or pass --dir")
        }
        let runs = try StudyStore(path: database.path).runs(study: spec.name).filter { $0.design == design }
        guard !runs.isEmpty else {
            throw ExportError.run(database.path, "no runs of design '\(design)' (designs: \(spec.designs.map(\.name).joined(separator: ", ")))")
        }
        let finished = runs.filter { $0.width == width && $0.loss != nil }
        guard let best = finished.min(by: { ($0.phase == .grid ? 1 : 0, $0.loss!) < ($1.phase == .grid ? 1 : 0, $1.loss!) }) else {
            let widths = Set(runs.filter { $0.loss != nil }.map(\.width)).sorted()
            throw ExportError.run(database.path, "design '\(design)' has no finished run at width \(width) (finished widths: \(widths.map(String.init).joined(separator: ", ")))")
        }
        return URL(fileURLWithPath: best.directory)
    }
}

/// A run that cannot be exported, or an export that did not check out.
public enum ExportError: Error, CustomStringConvertible {
    case run(String, String)
    case output(String, String)
    case verification(String)

    public var description: String {
        switch self {
        case let .run(path, reason), let .output(path, reason): "\(path): \(reason)"
        case let .verification(reason): "verification failed: \(reason)"
        }
    }
}
