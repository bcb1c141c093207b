import ArgumentParser
import Foundation
import NanoLM
import Torch

/// `nanolm eval`: `score` (the default) and `overtrain`.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score trained runs on multiple-choice tasks; run an over-training study (Gadre et al.).",
        discussion: """
            `nanolm eval RUN…` is `nanolm eval score RUN…`. See `nanolm eval score --help` and \
            `nanolm eval overtrain --help`, and docs/EVAL.md.
            """,
        subcommands: [EvalScoreCommand.self, EvalOverTrainCommand.self], defaultSubcommand: EvalScoreCommand.self)
}
