import ArgumentParser
import LawCommands
import Foundation
import NanoLM

/// `nanolm study run`: Algorithm 1 from a study file, resumable; writes result.json and report.html.
struct StudyRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run (or resume) a study and write its report.")
    @OptionGroup var location: StudyLocation
    @Option(help: ArgumentHelp("Runs trained at once (local executor): N, or auto (as many as the cores hold).",
                               discussion: "Each run trains on the same threads whatever --jobs is (one for a small model, every core for a large one), so its numbers are bit for bit those of --jobs 1 (docs/DESIGN.md, Parallelism)."))
    var jobs: JobCount = .fixed(1)
    @Option(help: "Where runs train: local (this machine) or slurm (one job array per phase, via sbatch).") var executor: ExecutorOption = .local
    @Flag(name: .customLong("dry-run"), help: "With --executor slurm: print the sbatch script of the first pending phase, submit nothing.") var dryRun = false
    @Option(name: .customLong("sbatch"), help: "An extra #SBATCH line for Slurm, e.g. --sbatch=--partition=cpu (repeatable).") var sbatchOptions: [String] = []
    @Flag(help: "Print the result as JSON (and the narration as JSON lines on standard error).") var json = false
    @Option(help: deviceHelp) var device: DeviceChoice?

    func validate() throws {
        if dryRun && executor != .slurm { throw ValidationError("--dry-run prints a Slurm script: add --executor slurm") }
    }

    func run() throws {
        var (spec, directory) = try location.load()
        if let device { spec.device = device }
        _ = try (spec.device ?? .auto).resolve()  // a GPU that is not there fails now, not at the first run
        let narrate: (String) -> Void = json ? { log($0) } : { print($0); fflush(stdout) }
        let reporter: any StudyReporter = json ? JSONLinesStudyReporter(write: log) : TerminalStudyReporter(log: narrate, progress: ProgressLine())
        let runExecutor: any RunExecutor
        switch executor {
        case .local:
            switch jobs {
            case .fixed(1): runExecutor = InProcessExecutor()
            case .fixed(let n): runExecutor = ChildProcessExecutor(jobs: n, executable: selfExecutable())
            case .auto: runExecutor = ChildProcessExecutor(jobs: nil, executable: selfExecutable())
            }
        case .slurm: runExecutor = SlurmExecutor(executable: selfExecutable(), dryRun: dryRun, options: sbatchOptions, study: spec.name,
                                                 directory: directory, log: narrate)
        }
        let runner = try StudyRunner(spec: spec, file: location.file, directory: directory, reporter: reporter)
        let result: StudyResult
        do { result = try runner.run(executor: runExecutor) } catch StudyStop.dryRun {
            throw ExitCode.success
        } catch StudyStop.interrupted {
            log(StudyStop.interrupted.localizedDescription)
            throw ExitCode(130)
        }
        let resultJSON = try encodeJSON(result)
        try resultJSON.write(to: directory.appendingPathComponent("result.json"), atomically: true, encoding: .utf8)
        let report = directory.appendingPathComponent("report.html")
        try StudyReport.html(result, spec: spec).write(to: report, atomically: true, encoding: .utf8)
        if json {
            print(resultJSON)
            if let failure = result.failure { log("Error: \(failure)"); throw ExitCode.failure }
            return
        }
        print("\n== result")
        for o in result.outcomes {
            guard let p = o.prediction else {
                print("\(o.design): no prediction (\(o.fitError ?? "no fit"))" + (o.targetLoss.map { String(format: "; actual target loss %.4f", $0) } ?? ""))
                continue
            }
            var line = String(format: "%@: predicted target loss %.4f [%.4f, %.4f]", o.design, p.loss, p.lower, p.upper)
            if let a = p.actual, let r = o.relativeError { line += String(format: ", actual %.4f, error %+.2f%%", a, 100 * r) }
            print(line)
        }
        print(String(format: "cost: %.3f× the target run(s) by Eq. (1), %.3f× by counted FLOPs", result.costRatioEquation1, result.costRatioCounted))
        print("report: \(report.path)")
        if let failure = result.failure { log("Error: \(failure)"); throw ExitCode.failure }
    }
}
