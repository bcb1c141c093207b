import Foundation
import Torch

/// How a study (or the over-training study) trains its runs: in this process, in child processes, on Slurm.
/// An executor only trains and reports; the study records what it reports (SQLite is written by the study
/// alone) and narrates it.
public protocol RunExecutor {
    /// Trains every job (none has finished yet; config.json and data.txt are written) and returns when all
    /// have ended, telling `events` as each starts, progresses and ends. `batch` names the group of runs
    /// ("grid", "proxy", "target") for logs and job names. On a stop request it lets the runs checkpoint
    /// and throws ``StudyStop/interrupted``.
    func train(_ jobs: [TrainingJob], batch: String, events: any RunEvents) throws
}

/// What an executor reports while it trains, by the job's index in the list it was given.
public protocol RunEvents: AnyObject {
    func started(_ index: Int, note: String?) throws
    func progress(_ index: Int, _ progress: TrainingProgress)
    func ended(_ index: Int, _ outcome: RunOutcome) throws
}

/// One run after another in this process, each on the threads ``RunThreads`` gives it.
public struct InProcessExecutor: RunExecutor {
    public var threads: RunThreads

    public init(threads: RunThreads = RunThreads()) { self.threads = threads }

    public func train(_ jobs: [TrainingJob], batch: String, events: any RunEvents) throws {
        let processThreads = Torch.threadCount   // what this process trains anything else on (a stacked grid) stays as it was
        defer { Torch.threadCount = processThreads }
        for (i, job) in jobs.enumerated() {
            try events.started(i, note: nil)
            let summary: RunSummary
            do {
                var config = job.config
                config.threads = threads.threads(for: config)
                let data = try openTrainingData(job.data, config: config)
                let model = try makeModel(config.model, seed: config.seed)
                let trainer = try Trainer(config: config, model: model, data: data, directory: job.directory.url)
                summary = try trainer.run { events.progress(i, $0) }
            } catch {
                try events.ended(i, .failed("\(error)"))
                continue
            }
            if summary.status == .interrupted {
                try events.ended(i, .interrupted)
                throw StudyStop.interrupted
            }
            try events.ended(i, .finished(summary))
        }
    }
}

/// Up to `jobs` `nanolm train` processes at once (nil: as many as the cores hold), each on the threads
/// ``RunThreads`` gives it, never more threads in all than cores (a run that needs every core trains alone);
/// each writes its standard error to its run's train.log. Progress is read from the runs' metrics.jsonl.
public struct ChildProcessExecutor: RunExecutor {
    public var jobs: Int?
    public var threads: RunThreads
    public var executable: String

    public init(jobs: Int?, threads: RunThreads = RunThreads(), executable: String) {
        self.jobs = jobs.map { max(1, $0) }
        self.threads = threads
        self.executable = executable
    }

    /// The child's command line; `slot` (0 ..< jobs, free while it runs) picks its GPU for `cuda` and `auto`,
    /// so N jobs on N GPUs train one per GPU.
    static func arguments(_ job: TrainingJob, threads: Int, slot: Int) throws -> [String] {
        ["train", "--config", job.directory.configURL.path, "--data", job.data, "--out", job.directory.path, "--threads", "\(threads)",
         "--device", "\(try (job.config.device ?? .auto).resolve(slot: slot))", "--json"]
    }

    public func train(_ list: [TrainingJob], batch: String, events: any RunEvents) throws {
        let gpus = try list.first.map { try ($0.config.device ?? .auto).resolve() }.map { $0 == .cpu ? 0 : Device.cudaDeviceCount } ?? 0
        // On GPUs a run's device is its slot's, so `auto` is one run per GPU; on the CPU the cores are the limit.
        let limit = jobs ?? (gpus > 0 ? gpus : threads.cores)
        let needs = list.map { gpus > 0 ? max(1, threads.cores / limit) : threads.threads(for: $0.config) }
        var queue = Array(list.indices)
        var running: [(index: Int, process: Process, slot: Int)] = []
        var watched: [Int: Int] = [:]   // index → last step reported
        while !queue.isEmpty || !running.isEmpty {
            while running.count < limit, !StopRequest.isRequested,
                  let q = RunThreads.next(queue.map { needs[$0] }, free: threads.cores - running.map { needs[$0.index] }.reduce(0, +),
                                          idle: running.isEmpty) {
                let i = queue.remove(at: q)
                let job = list[i]
                let slot = (0 ..< limit).first { s in !running.contains { $0.slot == s } } ?? 0
                let p = Process()
                p.executableURL = URL(fileURLWithPath: executable)
                p.arguments = try Self.arguments(job, threads: needs[i], slot: slot)
                p.environment = ProcessInfo.processInfo.environment.merging([StopRequest.parentVariable: "\(getpid())"]) { $1 }
                p.standardOutput = FileHandle.nullDevice
                _ = FileManager.default.createFile(atPath: job.directory.logURL.path, contents: nil)
                p.standardError = try FileHandle(forWritingTo: job.directory.logURL)
                try p.run()
                try events.started(i, note: "pid \(p.processIdentifier)")
                running.append((i, p, slot))
            }
            Thread.sleep(forTimeInterval: 0.2)
            for (i, _, _) in running {
                if let p = list[i].directory.lastProgress(totalSteps: list[i].config.steps), p.step != watched[i] { watched[i] = p.step; events.progress(i, p) }
            }
            for (i, p, _) in running where !p.isRunning {
                let job = list[i]
                if let summary = job.directory.finishedSummary {
                    try events.ended(i, .finished(summary))
                } else if p.terminationStatus == 130 || p.terminationReason == .uncaughtSignal {
                    try events.ended(i, .interrupted)
                } else {
                    try events.ended(i, .failed("exit \(p.terminationStatus); see \(job.directory.logURL.path)"))
                }
            }
            running.removeAll { !$0.process.isRunning }
            if StopRequest.isRequested {
                for (_, p, _) in running { p.interrupt() }
                for (i, p, _) in running {
                    p.waitUntilExit()
                    try events.ended(i, list[i].directory.finishedSummary.map { RunOutcome.finished($0) } ?? .interrupted)
                }
                throw StudyStop.interrupted
            }
        }
    }
}
