import ArgumentParser
import LawCommands
import Foundation
import NanoLM
import Torch

/// `nanolm eval loss`: trained runs measured on the fixed validation set, each loss with its standard error,
/// and every run after the first compared with the first on the same tokens (the paired standard error).
struct EvalLossCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loss",
        abstract: "Measure runs on the fixed validation set: loss ± standard error, and differences ± paired error.",
        discussion: """
            Reads each run's final weights and evaluates them on the same windows its evaluations read \
            (docs/DESIGN.md, "The validation set"). The standard error is the spread of whole held-out \
            documents within their domains (stratified by domain, clustered by document; batch means over \
            32 groups of consecutive windows for data without documents): how far the set's loss may be from \
            the loss on more text of its kind, an error every run reading the set shares. The paired error of \
            a difference (each run against the first) is what comparing two runs carries: what both find \
            hard cancels. Examples:

              nanolm eval loss studies/nano-gpt/runs/gpt-w64-s0 studies/nano-gpt/runs/gpt-w64-s1
              nanolm eval loss RUN_A RUN_B --tokens 212992 --json
            """)

    @Argument(help: "Run directories written by `nanolm train` or a study (config.json + checkpoint.safetensors).") var runs: [String]
    @Option(help: "The shard directory to read the validation split from (default: the data each run was trained on).") var data: String?
    @Option(help: "Target tokens to evaluate (default: each run's validationTokens; all of the split when it holds fewer).") var tokens: Int?
    @Option(help: deviceHelp) var device: DeviceChoice = .auto
    @Option(help: "libtorch threads (default: all cores).") var threads: Int?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if runs.isEmpty { throw ValidationError("give at least one run directory") }
        if let tokens, !(1 ... Limits.totalTokens).contains(tokens) { throw ValidationError("--tokens must be in 1...\(Limits.totalTokens), got \(tokens)") }
    }

    struct Row: Encodable {
        var run: String
        var step: Int?
        var loss: Double
        var standardError: Double?
        var targets: Int
        var checksum: String
        /// This run's loss minus the first run's, and its paired standard error (nil for the first run, and
        /// when the two were not measured on the same tokens).
        var difference: Double?
        var pairedStandardError: Double?
    }

    func run() throws {
        if let threads { Torch.threadCount = threads }
        let device = try device.resolve()
        var measured: [RunValidation] = []
        for run in runs {
            measured.append(try RunValidation(directory: URL(fileURLWithPath: run), data: data, tokens: tokens, device: device))
            if !json { log("[eval] measured \(run) (\(measured.count) of \(runs.count))") }
        }
        let first = measured[0].measurement
        let rows = measured.enumerated().map { i, r in
            let m = r.measurement
            let paired = i == 0 ? nil : first.pairedStandardError(against: m)
            return Row(run: r.directory.path, step: r.step, loss: m.loss, standardError: m.standardError(), targets: m.targets,
                       checksum: m.checksum, difference: paired.map { _ in m.loss - first.loss }, pairedStandardError: paired)
        }
        if json { print(try encodeJSON(rows)); return }
        print(table(rows))
        for row in rows.dropFirst() where row.pairedStandardError == nil {
            print("note: \(row.run) was measured on other tokens than \(rows[0].run) (checksum \(row.checksum) vs \(rows[0].checksum)): no paired difference")
        }
    }

    func table(_ rows: [Row]) -> String {
        func number(_ x: Double?, _ format: String) -> String { x.map { String(format: format, $0) } ?? "–" }
        let width = max(3, rows.map(\.run.count).max() ?? 0) + 2
        var lines = [pad("run", width) + pad("step", 7) + pad("loss", 9) + pad("± se", 9) + pad("Δ vs first", 12) + pad("± paired se", 13) + "targets"]
        for r in rows {
            lines.append(pad(r.run, width) + pad(r.step.map(String.init) ?? "–", 7) + pad(number(r.loss, "%.4f"), 9)
                         + pad(number(r.standardError, "%.4f"), 9) + pad(number(r.difference, "%+.4f"), 12)
                         + pad(number(r.pairedStandardError, "%.4f"), 13) + "\(r.targets)")
        }
        return lines.joined(separator: "\n")
    }
}
