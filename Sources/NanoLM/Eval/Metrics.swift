import Foundation

/// How a choice's log-likelihood is compared with the others' (lm-evaluation-harness's names).
public enum ChoiceMetric: String, CaseIterable, Codable, Sendable {
    /// The largest total log-likelihood.
    case acc
    /// The largest log-likelihood per character of the choice (lm-eval's acc_norm: `len(choice)`).
    case accNorm = "acc_norm"
    /// The largest mean log-likelihood per token.
    case accToken = "acc_token"
    /// The largest log-likelihood per UTF-8 byte of the choice (lm-eval's acc_bytes).
    case accByte = "acc_byte"

    /// The number the metric divides a choice's log-likelihood by.
    func length(_ choice: String, _ score: ChoiceScore) -> Double {
        switch self {
        case .acc: return 1
        case .accNorm: return Double(max(choice.unicodeScalars.count, 1))
        case .accToken: return Double(max(score.tokens, 1))
        case .accByte: return Double(max(choice.utf8.count, 1))
        }
    }

    /// The index of the best choice (the first of equals, as numpy's argmax).
    public func prediction(choices: [String], scores: [ChoiceScore]) -> Int {
        var best = 0, bestValue = -Double.infinity
        for (i, s) in scores.enumerated() {
            let v = s.logLikelihood / length(choices[i], s)
            if v > bestValue { best = i; bestValue = v }
        }
        return best
    }
}

/// A mean of 0/1 outcomes with its standard error (lm-eval's: sample standard deviation / √n).
public struct Accuracy: Codable, Equatable, Sendable {
    public var value: Double
    public var standardError: Double

    public init(value: Double, standardError: Double) {
        self.value = value
        self.standardError = standardError
    }

    public init(outcomes: [Bool]) {
        let n = Double(outcomes.count)
        let p = outcomes.isEmpty ? 0 : Double(outcomes.filter { $0 }.count) / n
        value = p
        // Σ(x − p)² / (n − 1) = n·p(1 − p)/(n − 1), then / n.
        standardError = n > 1 ? (p * (1 - p) / (n - 1)).squareRoot() : 0
    }

    /// The unweighted mean of independent tasks' accuracies: SE = √(Σ SEᵢ²) / m.
    public init(averaging parts: [Accuracy]) {
        let m = Double(parts.count)
        value = parts.isEmpty ? 0 : parts.map(\.value).reduce(0, +) / m
        standardError = parts.isEmpty ? 0 : parts.map { $0.standardError * $0.standardError }.reduce(0, +).squareRoot() / m
    }
}

/// One task's outcome under every metric.
public struct TaskResult: Codable, Sendable {
    public var task: String
    public var items: Int
    /// Mean 1/k: the accuracy of guessing.
    public var chance: Double
    public var accuracy: [String: Accuracy]   // keyed by ChoiceMetric.rawValue
    /// Mean log-likelihood of the right answer per byte of it (a loss-like view of the same items).
    public var answerLogLikelihoodPerByte: Double
    /// Choices whose context was cut from the left to fit the model.
    public var truncatedContexts: Int
    /// Choices longer than the model's sequence length (only their last tokens were scored).
    public var truncatedChoices: Int
    /// Lines of the task file that were skipped.
    public var skippedLines: Int

    public func accuracy(_ metric: ChoiceMetric) -> Accuracy { accuracy[metric.rawValue]! }
}

extension TaskResult {
    /// Scores `task`'s items given each item's choice scores (items[i].choices.count scores each).
    public init(task: MultipleChoiceTask, scores: [[ChoiceScore]]) {
        precondition(scores.count == task.items.count)
        var accuracy: [String: Accuracy] = [:]
        for metric in ChoiceMetric.allCases {
            let outcomes = zip(task.items, scores).map { item, s in metric.prediction(choices: item.choices, scores: s) == item.answer }
            accuracy[metric.rawValue] = Accuracy(outcomes: outcomes)
        }
        let perByte = zip(task.items, scores).map { item, s in s[item.answer].logLikelihood / Double(max(item.choices[item.answer].utf8.count, 1)) }
        self.init(task: task.name, items: task.items.count, chance: task.chance, accuracy: accuracy,
                  answerLogLikelihoodPerByte: perByte.isEmpty ? 0 : perByte.reduce(0, +) / Double(perByte.count),
                  truncatedContexts: scores.joined().filter(\.truncatedContext).count,
                  truncatedChoices: scores.joined().filter(\.truncatedContinuation).count,
                  skippedLines: task.skipped.count)
    }
}

/// Every task's result and their average, for one model.
public struct EvalReport: Codable, Sendable {
    public var tasks: [TaskResult]
    /// The unweighted mean over tasks, per metric.
    public var average: [String: Accuracy]
    /// Mean chance accuracy over tasks.
    public var chance: Double
    public var fewShot: Int

    public init(tasks: [TaskResult], fewShot: Int) {
        self.tasks = tasks
        self.fewShot = fewShot
        average = Dictionary(uniqueKeysWithValues: ChoiceMetric.allCases.map { m in
            (m.rawValue, Accuracy(averaging: tasks.map { $0.accuracy(m) }))
        })
        chance = tasks.isEmpty ? 0 : tasks.map(\.chance).reduce(0, +) / Double(tasks.count)
    }

    /// Gadre et al.'s downstream error: 1 − the average top-1 accuracy under `metric`.
    public func error(_ metric: ChoiceMetric) -> Double { 1 - average[metric.rawValue]!.value }
}
