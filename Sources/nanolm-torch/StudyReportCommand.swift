import ArgumentParser
import LawCommands
import Foundation
import NanoLM

struct StudyReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Write a finished study's HTML report.")
    @OptionGroup var location: StudyLocation
    @Option(help: "Output file (default: DIR/report.html).") var out: String?

    func run() throws {
        let (spec, directory) = try location.load()
        let url = directory.appendingPathComponent("result.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CLIError("\(url.path) does not exist: finish the study first with `nanolm study run \(location.file)`")
        }
        let result: StudyResult
        do { result = try JSONDecoder().decode(StudyResult.self, from: data) } catch let error as DecodingError {
            // A damaged result (a fit of the wrong shape) is named here; it used to trap while rendering.
            throw CLIError("\(url.path): \(describe(error)); rerun `nanolm study run \(location.file)` to rewrite it")
        }
        let report = URL(fileURLWithPath: out ?? directory.appendingPathComponent("report.html").path)
        try StudyReport.html(result, spec: spec).write(to: report, atomically: true, encoding: .utf8)
        print("report: \(report.path)")
    }
}
