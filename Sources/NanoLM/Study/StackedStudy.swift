import Foundation
import Torch

/// `options.stackGrid`: whether a study trains its same-shape runs together as one stacked model
/// (``StackedTrainer``) — the grid's points at the base width, and any other runs that differ only in
/// l, σ, τ and seeds (basin points of one proxy width, seeds).
public enum StackChoice: String, Codable, Sendable, CaseIterable {
    /// Stack on a GPU (a small run leaves most of it idle), with the in-process or child-process executor;
    /// one by one on the CPU, where stacking was not reliably faster (docs/BENCHMARKS.md) and one by one
    /// keeps a study's numbers bitwise what they were.
    case auto
    /// Stack every group of two or more same-shape GPT or Llama runs, in the study's own process.
    case on
    /// Every run alone, by the executor.
    case off
}

extension StudyRunner {
    /// Trains the groups of same-shape runs among `jobs` stacked, as `options.stackGrid` asks, telling
    /// `events` about each run as the executor would; returns the indices of the jobs left to the executor.
    func trainStacked(_ jobs: [TrainingJob], phase: RunPhase, events: any RunEvents, executor: any RunExecutor) throws -> [Int] {
        let choice = spec.options?.stackGrid ?? .auto
        guard choice != .off, jobs.count > 1 else { return Array(jobs.indices) }
        var groups: [[Int]] = []
        var groupOf: [TrainingConfig: Int] = [:]
        for (i, job) in jobs.enumerated() {
            if let g = groupOf[job.config.stackingShape] { groups[g].append(i) } else { groupOf[job.config.stackingShape] = groups.count; groups.append([i]) }
        }
        var rest: [Int] = []
        for group in groups where group.count > 1 {
            if let reason = whyNotStacked(group.map { jobs[$0] }, choice: choice, executor: executor) {
                reporter.report(.stacking(phase: phase, runs: group.count, stacked: false, reason: reason))
                rest += group
                continue
            }
            reporter.report(.stacking(phase: phase, runs: group.count, stacked: true, reason: "options.stackGrid \(choice.rawValue)"))
            try trainStack(group, of: jobs, events: events)
        }
        return (rest + groups.filter { $0.count == 1 }.flatMap { $0 }).sorted()
    }

    /// Why `group` trains one by one; nil when it trains stacked.
    func whyNotStacked(_ group: [TrainingJob], choice: StackChoice, executor: any RunExecutor) -> String? {
        if let obstacle = StackedTrainer.obstacle(group.map(\.config)) { return obstacle }
        let steps = Set(group.map { $0.directory.resumeStep })
        if steps.count > 1 { return "their checkpoints are at different steps \(steps.sorted())" }
        guard choice == .auto else { return nil }
        if executor is SlurmExecutor { return "options.stackGrid auto leaves Slurm's runs to Slurm (set it to on to stack them in this process)" }
        let device = try? (group[0].config.device ?? .auto).resolve(slot: 0)
        if device == .cpu { return "options.stackGrid auto trains one by one on the CPU (set it to on to stack; docs/BENCHMARKS.md)" }
        return nil
    }

    /// Trains the jobs at `group` as one stack; a run that cannot train is reported failed, as the executor would.
    func trainStack(_ group: [Int], of jobs: [TrainingJob], events: any RunEvents) throws {
        for (k, i) in group.enumerated() { try events.started(i, note: "stacked, \(k + 1) of \(group.count)") }
        let summaries: [RunSummary]
        do {
            let runs = try group.map { i in
                StackedTrainer.Run(config: jobs[i].config, data: try openTrainingData(jobs[i].data, config: jobs[i].config),
                                   directory: jobs[i].directory.url)
            }
            summaries = try StackedTrainer(runs: runs).run { r, p in events.progress(group[r], p) }
        } catch {
            for i in group { try events.ended(i, .failed("\(error)")) }
            return
        }
        for (i, summary) in zip(group, summaries) { try events.ended(i, summary.status == .interrupted ? .interrupted : .finished(summary)) }
        if summaries.contains(where: { $0.status == .interrupted }) { throw StudyStop.interrupted }
    }
}

/// Events for a sub-list of an executor's jobs, passed on under their indices in the whole list.
final class SubsetEvents: RunEvents {
    let events: any RunEvents
    let indices: [Int]
    init(_ events: any RunEvents, indices: [Int]) {
        self.events = events
        self.indices = indices
    }
    func started(_ index: Int, note: String?) throws { try events.started(indices[index], note: note) }
    func progress(_ index: Int, _ progress: TrainingProgress) { events.progress(indices[index], progress) }
    func ended(_ index: Int, _ outcome: RunOutcome) throws { try events.ended(indices[index], outcome) }
}

extension RunDirectory {
    /// The step of the run's checkpoint (0 without one, or when it cannot be read: the trainer says why).
    var resumeStep: Int {
        guard hasCheckpoint, let checkpoint = try? loadCheckpoint() else { return 0 }
        return checkpoint.state?.step ?? 0
    }
}
