import Foundation

/// Slurm: each batch of pending runs becomes one job array. Task i reads line i+1 of a list of run
/// directories and runs `nanolm train` there, writing only that directory; this process waits for the
/// array to leave the queue, watching the runs' metrics.jsonl, and then reads their summary.json (SQLite
/// is written by the study alone, never by the cluster's tasks).
public struct SlurmExecutor: RunExecutor {
    public var executable: String
    /// Print the first batch's script and stop (``StudyStop/dryRun(script:)``) instead of submitting.
    public var dryRun: Bool
    /// Extra `#SBATCH` lines, e.g. "--partition=cpu".
    public var options: [String]
    /// The study's name (the job name) and its directory (scripts, lists and logs go to DIR/slurm).
    public var study: String
    public var directory: URL
    /// Where the narration goes (the submitted job id, the dry run's script).
    public var log: (String) -> Void

    public init(executable: String, dryRun: Bool, options: [String], study: String, directory: URL, log: @escaping (String) -> Void) {
        self.executable = executable
        self.dryRun = dryRun
        self.options = options
        self.study = study
        self.directory = directory
        self.log = log
    }

    var slurmDirectory: URL { directory.appendingPathComponent("slurm") }

    func script(_ jobs: [TrainingJob], batch: String, listFile: String) -> String {
        let threads = "${SLURM_CPUS_PER_TASK:-1}"
        return """
            #!/bin/bash
            #SBATCH --job-name=nanolm-\(study)-\(batch)
            #SBATCH --array=0-\(jobs.count - 1)
            #SBATCH --output=\(slurmDirectory.path)/\(batch)-%a.out
            \(options.map { "#SBATCH \($0)" }.joined(separator: "\n"))
            # One run per task: line SLURM_ARRAY_TASK_ID+1 of the list is its directory (config.json and data.txt inside).
            set -euo pipefail
            run=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" \(listFile))
            exec \(executable) train --config "$run/config.json" --data "$(cat "$run/data.txt")" --out "$run" --threads \(threads) --device \(jobs.first?.config.device ?? .auto) --json

            """
    }

    public func train(_ jobs: [TrainingJob], batch: String, events: any RunEvents) throws {
        try FileManager.default.createDirectory(at: slurmDirectory, withIntermediateDirectories: true)
        let list = slurmDirectory.appendingPathComponent("\(batch).list")
        try (jobs.map(\.directory.path).joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        let text = script(jobs, batch: batch, listFile: list.path)
        let scriptURL = slurmDirectory.appendingPathComponent("\(batch).sbatch")
        try text.write(to: scriptURL, atomically: true, encoding: .utf8)
        if dryRun {
            log("[\(batch)] --dry-run: would submit \(scriptURL.path):\n\(text)")
            throw StudyStop.dryRun(script: scriptURL.path)
        }
        let jobID = try Self.command("sbatch", ["--parsable", scriptURL.path]).trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ";").first.map(String.init) ?? ""
        guard !jobID.isEmpty else { throw StudyError.failed("sbatch printed no job id for \(scriptURL.path)") }
        for i in jobs.indices { try events.started(i, note: "slurm job \(jobID)_\(i)") }
        log("[\(batch)] submitted Slurm job array \(jobID) (\(jobs.count) tasks); waiting for it to finish")
        var lastStep: [Int: Int] = [:]
        while true {
            let queued = (try? Self.command("squeue", ["-h", "-j", jobID, "-o", "%i"])) ?? ""
            for (i, job) in jobs.enumerated() {
                if let p = job.directory.lastProgress(totalSteps: job.config.steps), p.step != lastStep[i] { lastStep[i] = p.step; events.progress(i, p) }
            }
            if queued.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { break }
            if StopRequest.isRequested {
                _ = try? Self.command("scancel", ["--signal=INT", jobID])
                log("[\(batch)] job \(jobID) was sent SIGINT")
                throw StudyStop.interrupted
            }
            Thread.sleep(forTimeInterval: 1)
        }
        for (i, job) in jobs.enumerated() {
            if let summary = job.directory.finishedSummary {
                try events.ended(i, .finished(summary))
            } else {
                try events.ended(i, .failed("no summary.json; see \(slurmDirectory.path)/\(batch)-\(i).out"))
            }
        }
    }

    /// Runs a command on PATH and returns its standard output; throws with its standard error on failure.
    static func command(_ name: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [name] + arguments
        // Standard error goes to a file, as in Track's command sources: two pipes read one after the other
        // would block if the program filled the second while we drained the first.
        let out = Pipe()
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        p.standardOutput = out
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { throw StudyError.failed("cannot run \(name): \(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let errData = FileManager.default.contents(atPath: errURL.path) ?? Data()
        guard p.terminationStatus == 0 else {
            throw StudyError.failed("\(name) \(arguments.joined(separator: " ")) failed: \(String(decoding: errData, as: UTF8.self))"
                                    + (name == "sbatch" ? " (is Slurm installed and SLURM_CONF set? scripts/slurm_local.sh starts a local one)" : ""))
        }
        return String(decoding: data, as: UTF8.self)
    }
}
