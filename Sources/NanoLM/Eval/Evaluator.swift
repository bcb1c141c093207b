import Foundation

/// Runs tasks through a scorer: builds each item's prompt (with few-shot examples when asked), scores
/// every choice of every task in one pass (so batches span tasks), and measures accuracy.
public struct Evaluator {
    /// Solved examples from the same task shown before each item (0: zero-shot).
    public var fewShot = 0
    /// Seeds the choice of few-shot examples (lm-eval's default is 1234).
    public var seed: UInt64 = 1234
    /// Progress lines ("[eval] …"), at most every two seconds.
    public var progress: (String) -> Void = { _ in }

    public init(fewShot: Int = 0, seed: UInt64 = 1234) {
        self.fewShot = fewShot
        self.seed = seed
    }

    /// The text before item `index`'s choices: `fewShot` other items of `task`, each with its right
    /// answer, then the item's context; "\n\n" between them (lm-eval's fewshot_delimiter).
    public func prompt(_ task: MultipleChoiceTask, _ index: Int) -> String {
        let item = task.items[index]
        let k = min(fewShot, task.items.count - 1)
        guard k > 0 else { return item.context }
        var random = CounterRandom(seed: seed, index)
        var picked: [Int] = []
        while picked.count < k {
            let j = random.next(below: task.items.count)
            if j != index && !picked.contains(j) { picked.append(j) }
        }
        return picked.map { task.items[$0].solved }.joined(separator: "\n\n") + "\n\n" + item.context
    }

    public func evaluate(_ tasks: [MultipleChoiceTask], scorer: any ChoiceScorer) throws -> EvalReport {
        var requests: [ScoringRequest] = []
        for task in tasks {
            for i in task.items.indices {
                let context = prompt(task, i)
                let item = task.items[i]
                requests += item.choices.map { ScoringRequest(context: context, continuation: item.separator + $0) }
            }
        }
        let started = Date()
        var last = started
        let scores = try scorer.score(requests) { done, total in
            guard Date().timeIntervalSince(last) > 2 || done == total else { return }
            last = Date()
            let elapsed = Date().timeIntervalSince(started)
            progress(String(format: "[eval] %d/%d choices scored, %.0f s, ETA %.0f s", done, total, elapsed,
                            done > 0 ? elapsed / Double(done) * Double(total - done) : 0))
        }
        var next = 0
        let results = tasks.map { task in
            let perItem = task.items.map { item -> [ChoiceScore] in
                defer { next += item.choices.count }
                return Array(scores[next ..< next + item.choices.count])
            }
            return TaskResult(task: task, scores: perItem)
        }
        return EvalReport(tasks: results, fewShot: fewShot)
    }
}
