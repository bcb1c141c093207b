import ArgumentParser
import LawCommands
import Foundation
import NanoLM
import Torch

/// `nanolm golden`: one model against a PyTorch fixture of scripts/model_goldens.py, on a chosen device —
/// the model goldens where the test suite cannot run (a GPU machine without Swift: scripts/gpu_check/).
struct GoldenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TorchCommand.golden.rawValue,
        abstract: TorchCommand.golden.abstract,
        discussion: """
            The fixtures are Tests/NanoLMTests/Fixtures/models/*.safetensors (scripts/model_goldens.py: width \
            128, base width 64, τ = 3, d_head 32). Exits 1 when an error reaches --tolerance.

            Example:
              nanolm golden Tests/NanoLMTests/Fixtures/models/gpt_tied.safetensors --arch gpt --tied
            """)

    @Argument(help: "A fixture written by scripts/model_goldens.py.") var fixture: String
    @Option(help: "Architecture: gpt, llama, bert or t5.") var arch: Architecture
    @Flag(help: "The fixture's readout is tied to the token embedding (gpt_tied, bert_tied).") var tied = false
    @Option(help: deviceHelp) var device: DeviceChoice = .auto
    @Option(help: "Largest relative error that passes.") var tolerance = 1e-4
    @Flag(help: "Print the errors as JSON.") var json = false

    func run() throws {
        let result = try GoldenComparison(fixture: URL(fileURLWithPath: fixture), architecture: arch, tied: tied,
                                          device: device.resolve())
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            func e(_ x: Double) -> String { String(format: "%.1e", x) }
            print("\(arch.rawValue) on \(result.device): relative error of logits \(e(result.logitsError)), "
                  + "loss \(e(result.lossError)), worst gradient \(e(result.gradientError)) (\(result.worstGradient))")
        }
        if result.worst >= tolerance { throw ExitCode(1) }
    }
}
