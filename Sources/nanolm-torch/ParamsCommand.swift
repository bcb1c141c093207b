import ArgumentParser
import LawCommands
import Foundation
import NanoLM

/// `nanolm params`: parameter counts, training FLOPs per token, and the per-tensor μP audit.
struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TorchCommand.params.rawValue,
        abstract: TorchCommand.params.abstract,
        discussion: """
            The count μScaling fits against (C) includes the token embedding and the readout and leaves out \
            learned position embeddings, as nanoGPT's get_num_params() and the paper's Table 3 do. Counting \
            needs no memory; --audit builds the model (use a width that fits in memory).

            Examples:
              nanolm params --arch gpt --layers 32 --width 8192 --tied          # Table 3: 26.185 B
              nanolm params --arch gpt --layers 2 --width 256 --audit
              nanolm params --arch llama --layers 12 --width 512 --tied --json
            """)

    @Option(help: "Architecture: gpt, llama, bert or t5.") var arch: Architecture
    @Option(help: "Transformer blocks.") var layers: Int
    @Option(help: "Width (d_model).") var width: Int
    @Option(help: "Vocabulary size (the paper pads GPT-2's to 50304).") var vocab = 50304
    @Option(name: .customLong("seq-len"), help: "Sequence length (sizes GPT's position table).") var sequenceLength = 1024
    @Option(name: .customLong("head-dim"), help: "Head size (heads = width / head-dim).") var headDim = 64
    @Option(name: .customLong("ffn-ratio"), help: "MLP hidden size as a multiple of width.") var ffnRatio = 4.0
    @Flag(help: "Tie the readout to the token embedding (nanoGPT; the paper's Table 3 sizes).") var tied = false
    @Option(help: "Parametrization: mup or sp.") var param: ParametrizationOption = .mup
    @Option(name: .customLong("base-width"), help: "μP base width.") var baseWidth = 256
    @Option(name: .customLong("init-std"), help: "Initialisation std σ at the base width.") var initStd = 0.02
    @Option(name: .customLong("output-mult"), help: "Output multiplier τ at the base width.") var outputMultiplier = 1.0
    @Flag(help: "List every tensor: name, role, shape, init, learning-rate and forward multipliers.") var audit = false
    @Flag(help: "Print JSON.") var json = false

    func makeConfig() throws -> ModelConfig {
        let parametrization = param.parametrization(baseWidth: baseWidth)
        let config = ModelConfig(architecture: arch, layers: layers, width: width, vocabularySize: vocab,
                                 sequenceLength: sequenceLength, headDim: headDim, ffnRatio: ffnRatio, tiedEmbeddings: tied,
                                 parametrization: parametrization,
                                 hyper: MuHyperParameters(initStd: initStd, outputMultiplier: outputMultiplier))
        do { try config.validate() } catch { throw ValidationError("\(error)") }
        return config
    }

    func run() throws {
        let config = try makeConfig()
        let counts = try config.parameterCounts()
        let flops = try config.trainingFLOPsPerToken()
        var rows: [ParameterAuditRow] = []
        if audit {
            guard counts.total <= 2_000_000_000 else {
                throw ValidationError("--audit builds the model, and \(counts.total) parameters need \(counts.total * 4 / 1_000_000_000) GB; audit a narrower width (the multipliers follow the same rules at every width)")
            }
            let model = try makeModel(config, seed: 0)
            guard model.parameterCount == counts.total else {
                throw CLIError("internal: the built model has \(model.parameterCount) parameters, the analytic count \(counts.total)")
            }
            rows = config.audit(model)
        }
        if json {
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
                                nonEmbedding: counts.nonEmbedding, trainingFLOPsPerToken: flops, audit: audit ? rows : nil)
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        print(config.countsReport(counts: counts, flops: flops, audit: audit ? rows : nil))
    }
}
