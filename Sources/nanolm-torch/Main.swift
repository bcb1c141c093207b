import ArgumentParser
import LawCommands

/// `nanolm-torch`: every command of nanolm, the ones that need libtorch among them. `nanolm` runs it for those
/// (the usage it prints still says `nanolm`).
@main
struct Main: ParsableCommand {
    static let configuration = nanolmConfiguration(subcommands: [
        StudyCommand.self, TrainCommand.self, DataCommand.self, TokenizerCommand.self, ParamsAuditCommand.self,
        CoordCheckCommand.self, FitCommand.self, PredictCommand.self, CostCommand.self, EvalCommand.self,
        ExportCommand.self, GoldenCommand.self, DemoCommand.self])
}
