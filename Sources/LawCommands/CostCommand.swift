import ArgumentParser
import Foundation
import ScalingLaws

/// `nanolm cost`: Eq. (1) of the paper for a μScaling plan against one target run.
public struct CostCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cost",
        abstract: "Cost a μScaling plan against one target run by Eq. (1) of the paper.",
        discussion: """
            M(l, w, s, V, B) = 96·B·s·l·w²·(1 + s/(6w) + V/(16·l·w)) FLOPs per step; the ratio is \
            (M(w₁)·t + Σ M(wᵢ)) / M(w_t) with t grid trials at the base width w₁, all runs of --steps steps. \
            Example (the paper's 32-layer GPT): nanolm cost --layers 32 --seq-len 512 --vocab 50304 --batch 512 \
            --base-width 256 --trials 10 --proxies 512,1024,2048 --target 8192
            """)
    @Option var layers: Int
    @Option(name: .customLong("seq-len")) var sequenceLength: Int
    @Option var vocab: Int
    @Option var batch: Int
    @Option(name: .customLong("base-width")) var baseWidth: Int
    @Option(help: "Grid-search trials at the base width.") var trials: Int
    @Option(help: "Comma-separated proxy widths besides the base.") var proxies: String
    @Option var target: Int
    @Option(help: "Steps of every run (the ratio does not depend on it when all runs are equally long).") var steps = 1
    @Flag(help: "Print JSON.") var json = false

    public init() {}

    public func run() throws {
        let widths = try proxies.split(separator: ",").map { s -> Int in
            guard let w = Int(s.trimmingCharacters(in: .whitespaces)), w > 0 else { throw ValidationError("--proxies: '\(s)' is not a width") }
            return w
        }
        let plan = [Cost.Run(width: baseWidth, steps: steps, count: trials)] + widths.map { Cost.Run(width: $0, steps: steps) }
        let ratio = Cost.ratio(plan: plan, target: .init(width: target, steps: steps), layers: layers,
                                           sequenceLength: sequenceLength, vocabulary: vocab, batchSize: batch)
        let m = { (w: Int) in Cost.stepFLOPs(layers: layers, width: w, sequenceLength: sequenceLength, vocabulary: vocab, batchSize: batch) }
        if json {
            print("{\"ratio\": \(ratio), \"targetStepFLOPs\": \(m(target)), \"baseStepFLOPs\": \(m(baseWidth))}")
        } else {
            print(String(format: "one step: base width %d %.4g FLOPs, target %d %.4g FLOPs", baseWidth, m(baseWidth), target, m(target)))
            print(String(format: "plan / target = %.4f (%.2f%%)", ratio, 100 * ratio))
        }
    }
}
