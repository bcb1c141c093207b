import Foundation
import ModelSpec
import Torch

/// A model against a fixture of scripts/model_goldens.py (PyTorch's weights, batch, logits, loss and
/// gradients) on any device: what `nanolm golden` runs on a GPU machine, where the test suite cannot.
/// The tests (GPTTests, LlamaTests, EncoderModelTests) check the same fixtures on the CPU.
public struct GoldenComparison: Codable, Sendable {
    public var architecture: Architecture
    public var device: String
    /// Largest |nanolm − PyTorch| over the logits, relative to the largest |PyTorch logit|.
    public var logitsError: Double
    /// |nanolm − PyTorch| / PyTorch for the loss.
    public var lossError: Double
    /// The worst gradient's error relative to its largest |PyTorch value| (at least 0.01), and its name.
    public var gradientError: Double
    public var worstGradient: String

    /// The fixtures' model (see scripts/model_goldens.py): width 128 against base 64, τ = 3, d_head 32.
    public static func config(_ architecture: Architecture, tied: Bool) -> ModelConfig {
        ModelConfig(architecture: architecture, layers: 2, width: 128, vocabularySize: 256, sequenceLength: 16,
                    headDim: 32, ffnRatio: 4, tiedEmbeddings: tied, parametrization: .muP(baseWidth: 64),
                    hyper: MuHyperParameters(outputMultiplier: 3))
    }

    /// Loads `fixture` into a fresh model on `device`, runs its batch forward and backward there, and
    /// measures the differences (on the CPU).
    public init(fixture: URL, architecture: Architecture, tied: Bool, device: Device = .cpu) throws {
        let tensors = try SafeTensors.load(fixture).tensors
        func tensor(_ name: String) throws -> Tensor {
            guard let t = tensors[name] else {
                throw ModelError.invalidConfiguration("\(fixture.path) has no tensor '\(name)': is it a scripts/model_goldens.py fixture?")
            }
            return t
        }
        let model = try makeModel(Self.config(architecture, tied: tied), seed: 0, device: device)
        let weights = Dictionary(uniqueKeysWithValues: tensors.compactMap { key, value in
            key.hasPrefix("weights.") ? (String(key.dropFirst("weights.".count)), value) : nil
        })
        try model.load(weights, from: fixture.path)
        let batch = Batch(inputs: try tensor("inputs").to(device: device), targets: try tensor("targets").to(device: device),
                          decoderInputs: try tensors["decoder_inputs"].map { try $0.to(device: device) })
        let logits: Tensor  // [B, T, V]
        switch model {
        case let gpt as GPT: logits = try gpt.logits(batch.inputs)
        case let llama as Llama: logits = try llama.logits(batch.inputs)
        case let bert as BERT: logits = try bert.logits(batch.inputs)
        case let t5 as T5: logits = try t5.logits(batch.inputs, decoderInputs: tensor("decoder_inputs").to(device: device))
        default: throw ModelError.invalidConfiguration("no golden comparison for \(type(of: model))")
        }
        let loss = try model.loss(batch, training: true)
        try loss.backward()
        self.architecture = architecture
        self.device = "\(device)"
        logitsError = try Self.relativeError(logits, tensor("logits"))
        let expectedLoss = try tensor("loss").item() as Double
        lossError = abs(try loss.item() - expectedLoss) / abs(expectedLoss)
        (gradientError, worstGradient) = (0, "")
        for p in model.parameters {
            guard let grad = p.value.grad else { throw ModelError.invalidConfiguration("no gradient for \(p.name)") }
            let error = try Self.relativeError(grad, tensor("grad.\(p.name)"), floor: 1e-2)
            if error >= gradientError { (gradientError, worstGradient) = (error, p.name) }
        }
    }

    /// The largest of the three errors.
    public var worst: Double { max(logitsError, lossError, gradientError) }

    /// Largest |actual − expected| relative to the largest |expected|, or to `floor` when that is
    /// smaller (a gradient that is zero in exact arithmetic holds only rounding noise on both sides).
    public static func relativeError(_ actual: Tensor, _ expected: Tensor, floor: Double = 0) throws -> Double {
        guard actual.shape == expected.shape else {
            throw ModelError.shapeMismatch(source: "golden", name: "output", expected: expected.shape, found: actual.shape)
        }
        let a = try actual.to(.float32, device: .cpu).toArray(Float.self), e = try expected.to(.float32, device: .cpu).toArray(Float.self)
        let scale = max(Double(e.map { abs($0) }.max() ?? 0), floor)
        let worst = zip(a, e).map { Double(abs($0 - $1)) }.max() ?? 0
        return scale == 0 ? worst : worst / scale
    }
}
