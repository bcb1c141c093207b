import ArgumentParser
import Foundation
import LawCommands

/// `nanolm`: the commands that need no tensors — fit, predict, cost, params without --audit, --help, --version —
/// run in this binary, which does not load libtorch; every other command runs `nanolm-torch`, built beside it,
/// with the same arguments (docs/DESIGN.md, "Two binaries").
@main
enum Launcher {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch Route(arguments) {
        case .here: LawTool.main(arguments)
        case .help: print(helpText())
        case .torch: runTorchBinary(arguments)
        }
    }
}

/// The root of the commands this binary runs itself.
struct LawTool: ParsableCommand {
    static let configuration = nanolmConfiguration(subcommands: [FitCommand.self, PredictCommand.self, CostCommand.self, ParamsCommand.self])
}

/// Where a command line runs.
enum Route: Equatable {
    case here, help, torch

    init(_ arguments: [String]) {
        let own = LawTool.configuration.subcommands.compactMap { $0.configuration.commandName }
        switch arguments.first {
        case nil, "--help", "-h": self = .help
        case "--version": self = .here
        case "help": self = arguments.count == 1 ? .help : own.contains(arguments[1]) ? .here : .torch
        case let first?: self = own.contains(first) && !Route.buildsModel(arguments) ? .here : .torch
        }
    }

    /// `params --audit` builds the model: that needs libtorch.
    static func buildsModel(_ arguments: [String]) -> Bool {
        arguments.first == ParamsCommand.configuration.commandName && arguments.contains("--audit")
    }
}

/// The root's help: this binary's commands, then the ones `nanolm-torch` runs, in the same columns.
func helpText() -> String {
    var lines = LawTool.helpMessage().components(separatedBy: "\n")
    let column = lines.first { $0.hasPrefix("  fit ") }.map { line in 5 + line.dropFirst(5).prefix { $0 == " " }.count } ?? 26
    let torch = ["", "SUBCOMMANDS THAT NEED LIBTORCH (nanolm runs nanolm-torch, beside it, for these):"]
        + TorchCommand.allCases.flatMap { command in
            wrapped(command.abstract, width: 80 - column).enumerated().map { i, text in
                (i == 0 ? "  " + command.rawValue : "").padding(toLength: column, withPad: " ", startingAt: 0) + text
            }
        }
    let seeHelp = lines.lastIndex { $0.contains("See 'nanolm help") }.map { max($0 - 1, 0) } ?? lines.count
    lines.insert(contentsOf: torch, at: seeHelp)
    return lines.joined(separator: "\n")
}

/// `text` in lines of at most `width` characters, broken between words (as ArgumentParser wraps its own).
func wrapped(_ text: String, width: Int) -> [String] {
    var lines = [String](), line = ""
    for word in text.split(separator: " ") {
        if !line.isEmpty && line.count + 1 + word.count > width { lines.append(line); line = "" }
        line += (line.isEmpty ? "" : " ") + word
    }
    return lines + [line]
}

/// Replaces this process with `nanolm-torch` beside it, given the same arguments; returns only on failure.
func runTorchBinary(_ arguments: [String]) -> Never {
    let torch = URL(fileURLWithPath: selfExecutable()).deletingLastPathComponent().appendingPathComponent("nanolm-torch").path
    setThreadWaitPolicy()
    var argv = ([torch] + arguments).map { strdup($0) } + [nil]
    execv(torch, &argv)
    let reason = String(cString: strerror(errno))
    log("Error: cannot run \(torch) (\(reason)). The commands that train or read tensors are in nanolm-torch, which "
        + "`swift build` builds beside nanolm (scripts/main.sh does): build it, or run it directly.")
    exit(1)
}

/// How libtorch's idle OpenMP threads wait, where the user has not said (`OMP_WAIT_POLICY`, read once when
/// nanolm-torch loads libgomp): asleep under `NANOLM_GEMM=openblas`, whose own threads need the cores the
/// spinning ones would hold; libgomp's default (a short spin) under oneDNN's GEMMs, where nothing else
/// competes — measured in docs/BENCHMARKS.md ("How idle threads wait").
func setThreadWaitPolicy() {
    if ProcessInfo.processInfo.environment["NANOLM_GEMM"] == "openblas" { setenv("OMP_WAIT_POLICY", "PASSIVE", 0) }
}
