import ArgumentParser
import LawCommands
import Foundation
import NanoLM
import Torch

/// `nanolm demo`: proves the engine works on this machine — an MLP fits a toy curve in a second.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TorchCommand.demo.rawValue,
        abstract: TorchCommand.demo.abstract)

    @Option(help: "Gradient steps.") var steps = 300
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        var points: [(Int, Double)] = []
        if !json { print("libtorch \(Torch.version), \(Torch.threadCount) threads\nstep  loss") }
        let final = try ToyDemo.run(steps: steps, seed: seed) { step, loss in
            points.append((step, loss))
            if !json { print(String(format: "%4d  %.6f", step, loss)) }
        }
        if json {
            let object: [String: Any] = ["libtorch": Torch.version, "losses": points.map { ["step": $0.0, "loss": $0.1] },
                                         "final_loss": final]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(points.first!.1 > final ? "loss fell from \(String(format: "%.4f", points.first!.1)) to \(String(format: "%.4f", final))"
                                          : "warning: loss did not fall")
        }
    }
}
