import Foundation

/// Slurm: each phase's pending runs become one job array. Task i reads line i+1 of a list of run
/// directories and runs `nanolm train` there, writing only that directory; this process waits for the
/// array to leave the queue and then reads the runs' summary.json into the database (SQLite is written
/// by this process alone, never by the cluster's tasks).
extension StudyRunner {
    func slurmScript(_ pending: [StudyRun], executable: String, options: [String], phase: String, listFile: String) -> String {
        let threads = "${SLURM_CPUS_PER_TASK:-1}"
        let logs = directory.appendingPathComponent("slurm").path
        return """
            #!/bin/bash
            #SBATCH --job-name=nanolm-\(spec.name)-\(phase)
            #SBATCH --array=0-\(pending.count - 1)
            #SBATCH --output=\(logs)/\(phase)-%a.out
            \(options.map { "#SBATCH \($0)" }.joined(separator: "\n"))
            # One run per task: line SLURM_ARRAY_TASK_ID+1 of the list is its directory (config.json inside).
            set -euo pipefail
            run=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" \(listFile))
            exec \(executable) train --config "$run/config.json" --data \(spec.data) --out "$run" --threads \(threads) --device \(spec.device ?? .auto) --json

            """
    }

    func trainOnSlurm(_ pending: [StudyRun], executable: String, dryRun: Bool, options: [String], phase: String) throws {
        let dir = directory.appendingPathComponent("slurm")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let list = dir.appendingPathComponent("\(phase).list")
        try (pending.map(\.directory).joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        let script = slurmScript(pending, executable: executable, options: options, phase: phase, listFile: list.path)
        let scriptURL = dir.appendingPathComponent("\(phase).sbatch")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        if dryRun {
            log("[\(phase)] --dry-run: would submit \(scriptURL.path):\n\(script)")
            throw StudyError.failed("dry run: nothing submitted (the script above is in \(scriptURL.path))")
        }
        let jobID = try Self.command("sbatch", ["--parsable", scriptURL.path]).trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ";").first.map(String.init) ?? ""
        guard !jobID.isEmpty else { throw StudyError.failed("sbatch printed no job id for \(scriptURL.path)") }
        for run in pending { try store.setStatus(run.id, "running", message: "slurm job \(jobID)") }
        log("[\(phase)] submitted Slurm job array \(jobID) (\(pending.count) tasks); waiting for it to finish")
        var lastDone = -1
        while true {
            let queued = (try? Self.command("squeue", ["-h", "-j", jobID, "-o", "%i"])) ?? ""
            let done = pending.filter { Self.finishedSummary($0.directory) != nil }.count
            if done != lastDone { log("[\(phase)]   \(done)/\(pending.count) finished"); lastDone = done }
            if queued.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { break }
            if StudyInterrupt.requested {
                _ = try? Self.command("scancel", ["--signal=INT", jobID])
                throw StudyError.failed("interrupted: job \(jobID) was sent SIGINT; rerun `nanolm study run` to resume")
            }
            Thread.sleep(forTimeInterval: 1)
        }
        for run in pending {
            if let summary = Self.finishedSummary(run.directory) {
                try store.record(run.id, summary: summary)
                log("[\(phase)]   \(run.design) width \(run.width) lr \(run.hyper.learningRate): \(describe(summary))")
            } else {
                try store.setStatus(run.id, "failed", message: "no summary.json; see \(dir.path)/\(phase)-*.out")
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
