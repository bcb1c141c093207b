import ArgumentParser
import LawCommands
import Foundation
import NanoLM

struct StudyStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Print a study's runs and their status.")
    @OptionGroup var location: StudyLocation
    @Flag(help: "Print the runs as JSON.") var json = false

    func run() throws {
        let (spec, directory) = try location.load()
        let db = directory.appendingPathComponent("study.sqlite")
        guard FileManager.default.fileExists(atPath: db.path) else {
            throw CLIError("\(db.path) does not exist: start the study with `nanolm study run \(location.file)`")
        }
        let runs = try StudyStore(path: db.path).runs(study: spec.name)
        if json { print(try encodeJSON(runs)); return }
        var counts: [String: Int] = [:]
        for r in runs { counts[r.status.rawValue, default: 0] += 1 }
        print("study \(spec.name) (\(directory.path)): \(runs.count) runs — " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func row(_ cells: [String]) -> String { zip(cells, [12, 7, 6, 9, 7, 5, 10, 8]).map { pad($0, $1) }.joined(separator: " ") }
        print(row(["design", "phase", "width", "lr", "std", "tau", "status", "loss"]))
        for r in runs {
            print(row([r.design, r.phase.rawValue, "\(r.width)", String(format: "%g", r.hyper.learningRate), String(format: "%g", r.hyper.initStd),
                       String(format: "%g", r.hyper.outputMultiplier), r.status.rawValue, r.loss.map { String(format: "%.4f", $0) } ?? "–"]))
        }
        // Runs training now (in this or another process, or on Slurm): their progress from metrics.jsonl.
        for r in runs where r.status == .running {
            guard let p = RunDirectory(path: r.directory).lastProgress(totalSteps: r.steps) else {
                print("\(r.phase.rawValue) \(r.design) width \(r.width): running, no step recorded yet"); continue
            }
            let eta = p.step > 0 ? p.elapsed / Double(p.step) * Double(p.totalSteps - p.step) : .nan
            print("\(r.phase.rawValue) \(r.design) width \(r.width) lr \(r.hyper.learningRate): step \(p.step)/\(p.totalSteps), "
                  + String(format: "loss %.4f, %.0f tok/s, ", p.loss, p.tokensPerSecond) + "ETA \(TerminalStudyReporter.duration(eta))")
        }
    }
}
