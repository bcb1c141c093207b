import ArgumentParser
import LawCommands
import Foundation
import NanoLM
import Torch

/// `nanolm eval overtrain`: Gadre et al.'s over-training study at nano scale.
struct EvalOverTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overtrain",
        abstract: "Train a grid of widths × token multipliers, fit L(C, M) and Err(L) on some runs, predict the others.",
        discussion: """
            The study file (YAML or JSON) is described in docs/EVAL.md. Runs live in DIR/runs/wW-MM (DIR: --dir, \
            default studies/NAME); a rerun skips finished runs and resumes interrupted ones. Every run is scored \
            on the built-in tasks of the study's data; the fits use the smallest multiplier at widths up to \
            fitMaxWidth and every multiplier at the smallest width, and predict the held-out runs' loss and \
            downstream error. Writes DIR/result.json and DIR/report.html. Example:

              nanolm eval overtrain examples/overtrain-nano.yaml
            """)
    @Argument(help: "The over-training study file.") var file: String
    @Option(help: "Study directory (default: studies/NAME).") var dir: String?
    @Option(help: "libtorch threads (default: all cores).") var threads: Int?
    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        if let threads { Torch.threadCount = threads }
        let spec: OverTrainingSpec
        spec = try OverTrainingSpec.load(URL(fileURLWithPath: file))
        let directory = URL(fileURLWithPath: dir ?? "studies/\(spec.name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let study = OverTrainingStudy(spec: spec, directory: directory, log: json ? { log($0) } : { print($0); fflush(stdout) })
        StopRequest.install()
        let result = try study.run()
        let resultJSON = try encodeJSON(result)
        try resultJSON.write(to: directory.appendingPathComponent("result.json"), atomically: true, encoding: .utf8)
        try OverTrainingStudy.html(result).write(to: directory.appendingPathComponent("report.html"), atomically: true, encoding: .utf8)
        if json { print(resultJSON); return }
        if let f = result.lossFit {
            print(String(format: "L(C, M) = %.4f + (%.4g·M^%.4f + %.4g·M^−%.4f)·C^−%.4f  (%d runs, residual SE %.3g)", f.E, f.a, f.eta, f.b, f.eta, f.eta, f.n, f.residualStandardError))
        } else { print("no L(C, M) fit: \(result.lossFitError ?? "?")") }
        if let g = result.errorFit {
            print(String(format: "Err(L) = %.4f − %.4g·exp(−%.4f·L)  (%d runs, rmse %.3g)", g.epsilon, g.k, g.gamma, g.n, g.rmse))
        } else { print("no Err(L) fit: \(result.errorFitError ?? "?")") }
        if let g = result.anchoredErrorFit {
            print(String(format: "Err(L) = %.4f − %.4g·exp(−%.4f·L)  (ε fixed at chance; %d runs)", g.epsilon, g.k, g.gamma, g.n))
        }
        for n in result.notes { print("note: \(n)") }
        print("width  M        N         D          loss      predicted rel.err   error     Err free  rel.err   Err ε=chance rel.err")
        for r in result.runs where !r.inFit {
            func f(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "–" }
            print(String(format: "%-6d %-8g %-9d %-10d ", r.width, r.multiplier, r.parameters, r.tokens)
                  + [f(r.loss, "%.4f"), f(r.predictedLoss, "%.4f"), f(r.lossRelativeError.map { 100 * $0 }, "%+.2f%%"),
                     f(r.error, "%.4f"), f(r.predictedError, "%.4f"), f(r.errorRelativeError.map { 100 * $0 }, "%+.2f%%"),
                     f(r.predictedErrorAnchored, "%.4f"), f(r.anchoredErrorRelativeError.map { 100 * $0 }, "%+.2f%%")]
                    .map { $0.padding(toLength: 9, withPad: " ", startingAt: 0) }.joined(separator: " "))
        }
        if let l = result.meanLossRelativeError { print(String(format: "held-out runs: mean |relative error| of loss %.2f%%", 100 * l)) }
        if let e = result.meanErrorRelativeError { print(String(format: "held-out runs: mean |relative error| of downstream error %.2f%% (free Err(L))", 100 * e)) }
        if let e = result.meanAnchoredErrorRelativeError { print(String(format: "held-out runs: mean |relative error| of downstream error %.2f%% (ε at chance)", 100 * e)) }
        print("report: \(directory.appendingPathComponent("report.html").path)")
    }
}
