import ArgumentParser
import LawCommands
import Foundation
import NanoLM

/// `nanolm study`: the paper's Algorithm 1 from a study file, its progress, and its report.
struct StudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TorchCommand.study.rawValue,
        abstract: TorchCommand.study.abstract,
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
        subcommands: [StudyRunCommand.self, StudyStatusCommand.self, StudyReportCommand.self])
}

struct StudyLocation: ParsableArguments {
    @Argument(help: "The study file (YAML or JSON).") var file: String
    @Option(help: "Study directory (default: studies/NAME).") var dir: String?

    /// The study file and its directory; a bad file is an error naming the file and the field.
    func load() throws -> (StudySpec, URL) {
        let spec = try StudySpec.load(URL(fileURLWithPath: file))
        return (spec, URL(fileURLWithPath: dir ?? "studies/\(spec.name)"))
    }
}
