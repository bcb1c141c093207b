import ArgumentParser
import Foundation
import NanoLM

/// `nanolm study`: the paper's Algorithm 1 from a study file, its progress, and its report.
struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a μScaling study: grid search at the base width, μTransfer, proxies, fit, prediction, comparison, cost.",
        discussion: """
            A study file (YAML or JSON; docs/STUDY.md) names the designs, the μP base width, the hyperparameter \
            grid, proxy and target widths, the budget and the data. State lives in DIR/study.sqlite (DIR: \
            --dir, default studies/NAME); every run has its own directory under DIR/runs. Rerunning skips \
            finished runs and resumes interrupted ones. Examples:

              nanolm study run examples/nano.yaml
              nanolm study run examples/gpt-vs-llama.yaml --jobs 2
              nanolm study run examples/nano.yaml --executor slurm --dry-run
              nanolm study status examples/nano.yaml
              nanolm study report examples/nano.yaml
            """,
        subcommands: [StudyRunCommand.self, StudyStatus.self, StudyReportCommand.self])
}

struct StudyLocation: ParsableArguments {
    @Argument(help: "The study file (YAML or JSON).") var file: String
    @Option(help: "Study directory (default: studies/NAME).") var dir: String?

    func load() throws -> (StudySpec, URL) {
        let spec: StudySpec
        do { spec = try StudySpec.load(URL(fileURLWithPath: file)) } catch { throw ValidationError(error.localizedDescription) }
        return (spec, URL(fileURLWithPath: dir ?? "studies/\(spec.name)"))
    }
}

/// The running nanolm binary, for child processes and Slurm tasks.
func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

struct StudyRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run (or resume) a study and write its report.")
    @OptionGroup var location: StudyLocation
    @Option(help: "Runs trained at once, each in its own process with cores split between them (local executor).") var jobs = 1
    @Option(help: "Where runs train: local (this machine) or slurm (one job array per phase, via sbatch).") var executor = "local"
    @Flag(name: .customLong("dry-run"), help: "With --executor slurm: print the sbatch script of the first pending phase, submit nothing.") var dryRun = false
    @Option(name: .customLong("sbatch"), help: "An extra #SBATCH line for Slurm, e.g. --sbatch=--partition=cpu (repeatable).") var sbatchOptions: [String] = []
    @Flag(help: "Print the result as JSON.") var json = false
    @Option(help: deviceHelp) var device: DeviceChoice?

    func run() throws {
        var (spec, directory) = try location.load()
        if let device { spec.device = device }
        _ = try (spec.device ?? .auto).resolve()  // a GPU that is not there fails now, not at the first run
        let runExecutor: RunExecutor
        switch executor {
        case "local": runExecutor = jobs > 1 ? .processes(jobs: jobs, executable: selfExecutable()) : .inProcess
        case "slurm": runExecutor = .slurm(executable: selfExecutable(), dryRun: dryRun, options: sbatchOptions)
        default: throw ValidationError("--executor must be local or slurm, got '\(executor)'")
        }
        let runner = try StudyRunner(spec: spec, file: location.file, directory: directory,
                                     log: json ? { log($0) } : { print($0); fflush(stdout) })
        let result: StudyResult
        do { result = try runner.run(executor: runExecutor) } catch let error as StudyError {
            let failure = fail(error.localizedDescription)
            throw dryRun ? ExitCode.success : failure
        }
        let resultJSON = try encodeJSON(result)
        try resultJSON.write(to: directory.appendingPathComponent("result.json"), atomically: true, encoding: .utf8)
        let report = directory.appendingPathComponent("report.html")
        try StudyReport.html(result, spec: spec).write(to: report, atomically: true, encoding: .utf8)
        if json { print(resultJSON); return }
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
    }
}

struct StudyStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Print a study's runs and their status.")
    @OptionGroup var location: StudyLocation
    @Flag(help: "Print the runs as JSON.") var json = false

    func run() throws {
        let (spec, directory) = try location.load()
        let db = directory.appendingPathComponent("study.sqlite")
        guard FileManager.default.fileExists(atPath: db.path) else {
            throw ValidationError("\(db.path) does not exist: start the study with `nanolm study run \(location.file)`")
        }
        let runs = try StudyStore(path: db.path).runs(study: spec.name)
        if json { print(try encodeJSON(runs)); return }
        var counts: [String: Int] = [:]
        for r in runs { counts[r.status, default: 0] += 1 }
        print("study \(spec.name) (\(directory.path)): \(runs.count) runs — " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func row(_ cells: [String]) -> String { zip(cells, [12, 7, 6, 9, 7, 5, 10, 8]).map { pad($0, $1) }.joined(separator: " ") }
        print(row(["design", "phase", "width", "lr", "std", "tau", "status", "loss"]))
        for r in runs {
            print(row([r.design, r.phase, "\(r.width)", String(format: "%g", r.hyper.learningRate), String(format: "%g", r.hyper.initStd),
                       String(format: "%g", r.hyper.outputMultiplier), r.status, r.loss.map { String(format: "%.4f", $0) } ?? "–"]))
        }
    }
}

struct StudyReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Write a finished study's HTML report.")
    @OptionGroup var location: StudyLocation
    @Option(help: "Output file (default: DIR/report.html).") var out: String?

    func run() throws {
        let (spec, directory) = try location.load()
        let url = directory.appendingPathComponent("result.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ValidationError("\(url.path) does not exist: finish the study first with `nanolm study run \(location.file)`")
        }
        let result = try JSONDecoder().decode(StudyResult.self, from: data)
        let report = URL(fileURLWithPath: out ?? directory.appendingPathComponent("report.html").path)
        try StudyReport.html(result, spec: spec).write(to: report, atomically: true, encoding: .utf8)
        print("report: \(report.path)")
    }
}
