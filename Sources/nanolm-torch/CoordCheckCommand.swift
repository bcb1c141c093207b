import ArgumentParser
import LawCommands
import Foundation
import NanoLM

/// `nanolm coord-check`: μP's coordinate check, with SP as the negative control.
struct CoordCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TorchCommand.coordCheck.rawValue,
        abstract: TorchCommand.coordCheck.abstract,
        discussion: """
            Trains tiny models at several widths for a few AdamW steps at a high learning rate and records \
            the mean |x| of every module's output, and of its change since initialisation. For each module \
            and step it fits the log-log slope against width: μP passes when every slope (from step 2 on) \
            is flat; SP, the negative control, fails. Writes CSV and SVG per parametrization to --out.

            Examples:
              nanolm coord-check --arch gpt
              nanolm coord-check --arch llama --param mup --widths 64,128,256,512,1024 --out coord
            """)

    @Option(help: "Architecture: gpt, llama, bert or t5.") var arch: Architecture
    @Option(help: "mup, sp, or both (μP and the SP control).") var param: Choice = .both
    @Option(help: "Comma-separated widths.") var widths = "64,128,256,512"
    @Option(name: .customLong("base-width"), help: "μP base width (default: the narrowest).") var baseWidth: Int?
    @Option(help: "Transformer blocks.") var layers = 2
    @Option(name: .customLong("head-dim"), help: "Head size (small, so the narrowest width has many heads).") var headDim = 8
    @Option(name: .customLong("sequence-length"), help: "Tokens per sequence (T5: encoder input; targets are half).") var sequenceLength = 16
    @Option(name: .customLong("batch-size"), help: "Sequences per batch.") var batchSize = 1
    @Option(help: "Seeds to average over.") var seeds = 4
    @Option(help: "AdamW steps.") var steps = 4
    @Option(help: "Base learning rate.") var lr = 3e-3
    @Option(help: "Largest |slope| that counts as flat.") var tolerance = 0.15
    @Option(help: "Directory for the CSV and SVG files.") var out = "coord-check"
    @Flag(help: "Print the verdicts and slopes as JSON.") var json = false
    @Option(help: deviceHelp) var device: DeviceChoice = .auto

    func run() throws {
        let widthList = widths.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard widthList.count >= 2, widthList.allSatisfy({ $0 > 0 && $0 % headDim == 0 }) else {
            throw ValidationError("--widths needs at least two positive multiples of --head-dim \(headDim), got '\(widths)'")
        }
        let kinds = param.kinds
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var results: [NanoLM.CoordCheck.Result] = []
        for kind in kinds {
            var options = NanoLM.CoordCheck.Options(architecture: arch, parametrization: kind)
            options.widths = widthList
            options.baseWidth = baseWidth ?? widthList.min()!
            options.layers = layers
            options.headDim = headDim
            options.sequenceLength = sequenceLength
            options.batchSize = batchSize
            options.seeds = seeds
            options.steps = steps
            options.learningRate = lr
            options.tolerance = tolerance
            let stem = "coord_\(arch.rawValue)_\(kind == .muP ? "mup" : "sp")"
            let result = try NanoLM.CoordCheck.run(options, device: device.resolve(), progress: { line in
                if !json { FileHandle.standardError.write(Data("  \(kind == .muP ? "μP" : "SP") \(line)\n".utf8)) }
            })
            try result.csv.write(to: directory.appendingPathComponent("\(stem).csv"), atomically: true, encoding: .utf8)
            try result.svg.write(to: directory.appendingPathComponent("\(stem).svg"), atomically: true, encoding: .utf8)
            if !json {
                print(result.report)
                print("wrote \(directory.appendingPathComponent(stem).path).{csv,svg}\n")
            }
            results.append(result)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            struct Verdict: Encodable { var parametrization: String; var passed: Bool; var slopes: [NanoLM.CoordCheck.Slope] }
            print(String(decoding: try encoder.encode(results.map {
                Verdict(parametrization: $0.options.parametrization.rawValue, passed: $0.passed, slopes: $0.slopes)
            }), as: UTF8.self))
        }
        if let mu = results.first(where: { $0.options.parametrization == .muP }), !mu.passed {
            throw ExitCode(1)  // μP failing its coordinate check is a bug
        }
    }
}

extension CoordCheckCommand {
    /// `--param`: one parametrization, or μP with SP as the negative control.
    enum Choice: String, CaseIterable, ExpressibleByArgument {
        case mup, sp, both

        init?(argument: String) {
            if let one = ParametrizationOption(argument: argument) { self = one == .mup ? .mup : .sp } else if argument == "both" { self = .both } else { return nil }
        }

        var kinds: [Parametrization.Kind] { self == .both ? [.muP, .standard] : [self == .mup ? .muP : .standard] }
    }
}
