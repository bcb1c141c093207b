import ArgumentParser
import NanoLM

/// `nanolm`: μScaling — predict how a large language model would train by training narrow μP proxies.
@main
struct Main: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nanolm",
        abstract: "Predict a large language model's loss from narrow μP proxies (μScaling, nanoLM).",
        discussion: """
            Typical flow: search hyperparameters once at a small base width, μTransfer them to a few \
            narrow proxies, train the proxies, fit L = a·C^b + c to their losses against parameter \
            count C, and extrapolate to the target width.
            """,
        version: NanoLMInfo.version,
        subcommands: [StudyCommand.self, TrainCommand.self, DataCommand.self, TokenizerCommand.self, ParamsCommand.self,
                      CoordCheckCommand.self, FitCommand.self, PredictCommand.self, CostCommand.self, EvalCommand.self, ExportCommand.self, GoldenCommand.self,
                      DemoCommand.self]
    )
}
