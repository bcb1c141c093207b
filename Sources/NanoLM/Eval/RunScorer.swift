import Foundation
import Torch

/// Scores finished runs on the built-in multiple-choice tasks of a track's held-out split, caching each
/// run's score in its eval.json (keyed by a hash of the task set), so a rerun scores nothing again.
/// Used by the over-training study and by `nanolm study` with `options.evaluate`.
public struct RunScorer {
    public let tasks: [MultipleChoiceTask]
    public let codec: any TokenCodec
    /// The data's vocabulary size as its index records it.
    public let vocabularySize: Int
    /// Identifies the task set and the metric in the cache.
    public let taskHash: String
    /// Where the models are scored.
    public var device: Device = .cpu
    /// 1 − mean chance accuracy of the tasks.
    public var chanceError: Double { 1 - tasks.map(\.chance).reduce(0, +) / Double(tasks.count) }

    /// Tasks generated from the held-out split of the token data in `data` (`nanolm data build` output).
    public init(data: URL, itemsPerTask: Int, seed: UInt64) throws {
        let held = try HeldOutDocuments(directory: data)
        var options = GeneratedTaskOptions()
        options.itemsPerTask = itemsPerTask
        options.seed = seed
        tasks = try TaskGenerator(options: options).tasks(from: held.documents).tasks
        guard !tasks.isEmpty else { throw StudyError.failed("\(data.path): its held-out split yields no tasks") }
        codec = held.codec
        vocabularySize = held.index.tokenizer.vocabularySize
        var hash = FNV1a64()
        for t in tasks { hash.update(t.name); for item in t.items { hash.update(item.solved); hash.update(item.choices.joined(separator: "\u{1}")) } }
        taskHash = hash.hex + "-acc_token"
    }

    /// The average error (1 − acc_token) and its standard error of the run in `directory`; `cached` when
    /// eval.json already held it.
    public func score(runDirectory directory: URL) throws -> (error: Double, standardError: Double, cached: Bool) {
        let cacheURL = RunDirectory(directory).evalURL
        if let cached = try? JSON.read(CachedScore.self, from: cacheURL), cached.tasks == taskHash {
            return (cached.error, cached.standardError, true)
        }
        let checkpoint = try EvalCheckpoint(directory: directory, device: device)
        let report = try Evaluator().evaluate(tasks, scorer: ModelScorer(model: checkpoint.model, codec: codec))
        let error = report.error(.accToken)
        let standardError = report.average[ChoiceMetric.accToken.rawValue]!.standardError
        try JSON.write(CachedScore(tasks: taskHash, error: error, standardError: standardError), to: cacheURL)
        return (error, standardError, false)
    }
}

/// A run's score on one task set (DIR/runs/…/eval.json).
struct CachedScore: Codable {
    var tasks: String
    var error: Double
    var standardError: Double
}
