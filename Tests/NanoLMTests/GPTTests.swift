import Foundation
import XCTest
import Torch
@testable import NanoLM

/// A model fixture written by scripts/model_goldens.py: weights, a batch, and PyTorch's logits, loss
/// and gradients for it.
struct ModelGolden {
    let tensors: [String: Tensor]

    init(_ name: String) throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/models/\(name)", withExtension: "safetensors"))
        tensors = try SafeTensors.load(url).tensors
    }

    /// The fixture's configuration (see the script): width 128 against base 64, τ = 3, d_head 32.
    static func config(_ architecture: Architecture, tied: Bool) -> ModelConfig {
        ModelConfig(architecture: architecture, layers: 2, width: 128, vocabularySize: 256, sequenceLength: 16,
                    headDim: 32, ffnRatio: 4, tiedEmbeddings: tied, parametrization: .muP(baseWidth: 64),
                    hyper: MuHyperParameters(outputMultiplier: 3))
    }

    var weights: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: tensors.compactMap { key, value in
            key.hasPrefix("weights.") ? (String(key.dropFirst("weights.".count)), value) : nil
        })
    }
    var batch: Batch { Batch(inputs: tensors["inputs"]!, targets: tensors["targets"]!, decoderInputs: tensors["decoder_inputs"]) }

    /// Largest |actual − expected| relative to the largest |expected| of the tensor, or to `floor` when
    /// that is smaller (a gradient that is zero in exact arithmetic, like BERT's key bias — softmax
    /// ignores a constant added to a query's logits — holds only rounding noise on both sides).
    static func relativeError(_ actual: Tensor, _ expected: Tensor, floor: Double = 0) throws -> Double {
        let a = try actual.toArray(Float.self), e = try expected.toArray(Float.self)
        precondition(a.count == e.count)
        let scale = max(Double(e.map { abs($0) }.max() ?? 0), floor)
        let worst = zip(a, e).map { Double(abs($0 - $1)) }.max() ?? 0
        return scale == 0 ? worst : worst / scale
    }

    /// Loads the weights into `model`, runs the batch, and checks logits, loss and every gradient.
    func check(_ model: any LanguageModel, logits: (Tensor) throws -> Tensor, tolerance: Double = 1e-5,
                file: StaticString = #filePath, line: UInt = #line) throws {
        try model.load(weights, from: "golden")
        let out = try logits(batch.inputs)
        XCTAssertEqual(out.shape, tensors["logits"]!.shape, file: file, line: line)
        let logitsError = try Self.relativeError(out, tensors["logits"]!)
        XCTAssertLessThan(logitsError, tolerance, "logits", file: file, line: line)
        let loss = try model.loss(batch, training: true)
        let expectedLoss = try tensors["loss"]!.item()
        XCTAssertEqual(try loss.item(), expectedLoss, accuracy: tolerance * expectedLoss, "loss", file: file, line: line)
        try loss.backward()
        var worst = (0.0, "")
        for p in model.parameters {
            let grad = try XCTUnwrap(p.value.grad, "no gradient for \(p.name)", file: file, line: line)
            let error = try Self.relativeError(grad, XCTUnwrap(tensors["grad.\(p.name)"], "golden lacks \(p.name)"), floor: 1e-2)
            XCTAssertLessThan(error, tolerance, "gradient of \(p.name)", file: file, line: line)
            if error > worst.0 { worst = (error, p.name) }
        }
        print("golden: logits rel. error \(logitsError), worst gradient rel. error \(worst.0) (\(worst.1))")
    }
}

final class GPTTests: XCTestCase {
    func testMatchesPyTorchGolden() throws {
        let golden = try ModelGolden("gpt")
        let model = try GPT(config: ModelGolden.config(.gpt, tied: false), generator: Generator(seed: 0))
        try golden.check(model) { try model.logits($0) }
    }

    func testTiedMatchesPyTorchGolden() throws {
        let golden = try ModelGolden("gpt_tied")
        let model = try GPT(config: ModelGolden.config(.gpt, tied: true), generator: Generator(seed: 0))
        XCTAssertNil(model.namedParameters["lm_head.weight"], "a tied readout is the token embedding")
        try golden.check(model) { try model.logits($0) }
    }

    func testStateDictKeysFollowNanoGPT() throws {
        let model = try GPT(config: ModelConfig(architecture: .gpt, layers: 1, width: 64, vocabularySize: 32, sequenceLength: 8),
                            generator: Generator(seed: 0))
        XCTAssertEqual(model.parameters.map(\.name), [
            "transformer.wte.weight", "transformer.wpe.weight",
            "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias",
            "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias",
            "transformer.h.0.attn.c_proj.weight", "transformer.h.0.attn.c_proj.bias",
            "transformer.h.0.ln_2.weight", "transformer.h.0.ln_2.bias",
            "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_fc.bias",
            "transformer.h.0.mlp.c_proj.weight", "transformer.h.0.mlp.c_proj.bias",
            "transformer.ln_f.weight", "transformer.ln_f.bias", "lm_head.weight",
        ])
        XCTAssertEqual(model.namedParameters["transformer.h.0.attn.c_attn.weight"]!.shape, [192, 64])
        XCTAssertEqual(model.namedParameters["transformer.h.0.mlp.c_fc.weight"]!.shape, [256, 64])
    }

    func testCausality() throws {
        // Changing a later token must not change earlier logits.
        let config = ModelConfig(architecture: .gpt, layers: 2, width: 64, vocabularySize: 50, sequenceLength: 8,
                                 parametrization: .standard)
        let model = try GPT(config: config, generator: Generator(seed: 3))
        let a = try model.logits(Tensor([Int64](arrayLiteral: 1, 2, 3, 4, 5, 6), shape: [1, 6]))
        let b = try model.logits(Tensor([Int64](arrayLiteral: 1, 2, 3, 4, 9, 9), shape: [1, 6]))
        XCTAssertEqual(try a.narrow(1, start: 0, length: 4).toArray(Float.self), try b.narrow(1, start: 0, length: 4).toArray(Float.self))
        XCTAssertNotEqual(try a.narrow(1, start: 5, length: 1).toArray(Float.self), try b.narrow(1, start: 5, length: 1).toArray(Float.self))
    }

    func testTooLongSequenceIsAClearError() throws {
        let model = try GPT(config: ModelConfig(architecture: .gpt, layers: 1, width: 64, vocabularySize: 50, sequenceLength: 4),
                            generator: Generator(seed: 0))
        XCTAssertThrowsError(try model.logits(Tensor.zeros([1, 5], dtype: .int64))) { error in
            XCTAssertTrue("\(error)".contains("sequenceLength 4"), "\(error)")
        }
    }
}
