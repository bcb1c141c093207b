import ArgumentParser
import LawCommands
import Foundation
import NanoLM
import Torch

/// `nanolm eval`: `score` (the default) and `overtrain`.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TorchCommand.eval.rawValue,
        abstract: TorchCommand.eval.abstract,
        discussion: """
            `nanolm eval RUN…` is `nanolm eval score RUN…`. See `nanolm eval score --help` and \
            `nanolm eval loss --help`, `nanolm eval overtrain --help`, and docs/EVAL.md.
            """,
        subcommands: [EvalScoreCommand.self, EvalLossCommand.self, EvalOverTrainCommand.self], defaultSubcommand: EvalScoreCommand.self)
}
