import ArgumentParser
import Foundation
import ModelSpec

/// `nanolm params`: parameter counts and training FLOPs per token from the configuration alone, in this module
/// (no libtorch). `--audit` builds the model, so `nanolm` hands a command line with it to `nanolm-torch`, whose
/// `params` (ParamsAuditCommand) takes the same options and adds the per-tensor μP table.
public struct ParamsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "params",
        abstract: "Count a model's parameters and FLOPs; with --audit, list every tensor's μP role and multipliers.",
        discussion: """
            The count μScaling fits against (C) includes the token embedding and the readout and leaves out \
            learned position embeddings, as nanoGPT's get_num_params() and the paper's Table 3 do. Counting \
            needs no memory (and no libtorch); --audit builds the model (use a width that fits in memory).

            Examples:
              nanolm params --arch gpt --layers 32 --width 8192 --tied          # Table 3: 26.185 B
              nanolm params --arch gpt --layers 2 --width 256 --audit
              nanolm params --arch llama --layers 12 --width 512 --tied --json
            """)

    @OptionGroup public var options: ParamsOptions

    public init() {}

    public func run() throws {
        guard !options.audit else {
            throw CLIError("--audit builds the model, which needs libtorch: run `nanolm params … --audit`, which nanolm hands to nanolm-torch")
        }
        print(try options.report(options.makeConfig(), audit: nil))
    }
}

/// The options of `nanolm params` and what it prints, the same in both binaries.
public struct ParamsOptions: ParsableArguments {
    @Option(help: "Architecture: gpt, llama, bert or t5.") public var arch: Architecture
    @Option(help: "Transformer blocks.") public var layers: Int
    @Option(help: "Width (d_model).") public var width: Int
    @Option(help: "Vocabulary size (the paper pads GPT-2's to 50304).") public var vocab = 50304
    @Option(name: .customLong("seq-len"), help: "Sequence length (sizes GPT's position table).") public var sequenceLength = 1024
    @Option(name: .customLong("head-dim"), help: "Head size (heads = width / head-dim).") public var headDim = 64
    @Option(name: .customLong("ffn-ratio"), help: "MLP hidden size as a multiple of width.") public var ffnRatio = 4.0
    @Flag(help: "Tie the readout to the token embedding (nanoGPT; the paper's Table 3 sizes).") public var tied = false
    @Option(help: "Parametrization: mup or sp.") public var param: ParametrizationOption = .mup
    @Option(name: .customLong("base-width"), help: "μP base width.") public var baseWidth = 256
    @Option(name: .customLong("init-std"), help: "Initialisation std σ at the base width.") public var initStd = 0.02
    @Option(name: .customLong("output-mult"), help: "Output multiplier τ at the base width.") public var outputMultiplier = 1.0
    @Flag(help: "List every tensor: name, role, shape, init, learning-rate and forward multipliers (builds the model).") public var audit = false
    @Flag(help: "Print JSON.") public var json = false

    public init() {}

    /// The model the flags describe, validated (a bad size is a usage error naming the field).
    public func makeConfig() throws -> ModelConfig {
        let config = ModelConfig(architecture: arch, layers: layers, width: width, vocabularySize: vocab,
                                 sequenceLength: sequenceLength, headDim: headDim, ffnRatio: ffnRatio, tiedEmbeddings: tied,
                                 parametrization: param.parametrization(baseWidth: baseWidth),
                                 hyper: MuHyperParameters(initStd: initStd, outputMultiplier: outputMultiplier))
        do { try config.validate() } catch { throw ValidationError("\(error)") }
        return config
    }

    /// `config`'s counts, FLOPs per token and, when given, the audit's rows: as text, or as JSON with `--json`.
    public func report(_ config: ModelConfig, audit rows: [ParameterAuditRow]?) throws -> String {
        let counts = try config.parameterCounts()
        let flops = try config.trainingFLOPsPerToken()
        guard json else { return config.countsReport(counts: counts, flops: flops, audit: rows) }
        struct Output: Encodable {
            var config: ModelConfig
            var counts: ParameterCounts
            var total: Int, scaling: Int, nonEmbedding: Int
            var trainingFLOPsPerToken: Double
            var audit: [ParameterAuditRow]?
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let output = Output(config: config, counts: counts, total: counts.total, scaling: counts.scaling,
                            nonEmbedding: counts.nonEmbedding, trainingFLOPsPerToken: flops, audit: rows)
        return String(decoding: try encoder.encode(output), as: UTF8.self)
    }
}

/// `--param`: μP or the standard parametrization ("μp" and "standard" are accepted too).
public enum ParametrizationOption: String, CaseIterable, ExpressibleByArgument {
    case mup, sp

    public init?(argument: String) {
        switch argument.lowercased() {
        case "mup", "μp": self = .mup
        case "sp", "standard": self = .sp
        default: return nil
        }
    }

    public var kind: Parametrization.Kind { self == .mup ? .muP : .standard }
    public func parametrization(baseWidth: Int) -> Parametrization { self == .mup ? .muP(baseWidth: baseWidth) : .standard }
}

extension Architecture: ExpressibleByArgument {}
