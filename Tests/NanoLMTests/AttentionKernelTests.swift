import Foundation
import XCTest
import Torch
@testable import NanoLM

/// libtorch's fused scaled_dot_product_attention against the explicit path: the same logits, loss and
/// gradients in every architecture (GPT causal, Llama causal with rotary positions, BERT bidirectional,
/// T5 with relative-position biases, causal in its decoder, and cross-attention), and for the masks a
/// model may pass (additive padding, causal with more keys than queries). Runs where the engine has the
/// fused kernel (libtorch ≥ 2.1); Debian's 1.13 has only the explicit path.
final class AttentionKernelTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(Torch.hasScaledDotProductAttention,
                          "libtorch \(Torch.version) has no scaled_dot_product_attention with a scale (needs ≥ 2.1): the explicit path is the only one here")
    }

    func testFusedEqualsExplicitInEveryArchitecture() throws {
        for architecture in Architecture.allCases {
            var options = CoordCheck.Options(architecture: architecture, parametrization: .muP)
            options.batchSize = 3
            options.headDim = 16
            var config = options.config(width: 64)  // μP at r = 1: scale 8/16, not SP's 1/4
            config.parametrization.zeroQuery = false  // zero queries would make every logit 0
            let batch = try CoordCheck.batch(options, seed: 0)
            var results: [(loss: Double, gradients: [String: Tensor])] = []
            for kernel in [AttentionKernel.explicit, .fused] {
                let model = try makeModel(config, seed: 7)
                let loss = try AttentionKernel.$current.withValue(kernel) { try model.loss(batch, training: true) }
                try loss.backward()
                results.append((try loss.item(), Dictionary(uniqueKeysWithValues: try model.parameters.map { ($0.name, try XCTUnwrap($0.value.grad)) })))
            }
            XCTAssertEqual(results[0].loss, results[1].loss, accuracy: 1e-5 * abs(results[0].loss), "\(architecture) loss")
            for (name, explicit) in results[0].gradients {
                let error = try ModelGolden.relativeError(results[1].gradients[name]!, explicit, floor: 1e-3)
                XCTAssertLessThan(error, 1e-4, "\(architecture) gradient of \(name)")
            }
        }
    }

    /// The masks models pass: an additive padding mask [B, 1, 1, S], a causal mask with S > T (aligned
    /// to the end, which the kernel's own causal flag does not do), and a bias together with causal.
    func testFusedEqualsExplicitWithMasks() throws {
        let g = Generator(seed: 3)
        let (b, h, d, t, s) = (2, 4, 8, 5, 7)
        let q = try Tensor.randn([b, t, h * d], generator: g)
        let k = try Tensor.randn([b, s, h * d], generator: g)
        let v = try Tensor.randn([b, s, h * d], generator: g)
        let padding = try Tensor([0, 0, 0, 0, 0, -1e9, -1e9, 0, 0, 0, 0, 0, 0, -1e9] as [Float], shape: [b, 1, 1, s])
        let bias = try Tensor.randn([1, h, t, s], generator: g)
        for (causal, mask) in [(false, padding), (true, nil), (true, bias), (false, bias)] as [(Bool, Tensor?)] {
            let attention = MultiHeadAttention(heads: h, headDim: d, scale: 0.3, causal: causal)
            let explicit = try AttentionKernel.$current.withValue(.explicit) { try attention(q: q, k: k, v: v, bias: mask, training: false) }
            let fused = try AttentionKernel.$current.withValue(.fused) { try attention(q: q, k: k, v: v, bias: mask, training: false) }
            XCTAssertLessThan(try ModelGolden.relativeError(fused, explicit), 1e-5, "causal \(causal), mask \(mask?.shape ?? [])")
        }
    }

    /// Dropout on the probabilities reaches the kernel: in training the output changes, in evaluation not.
    func testFusedDropoutAppliesOnlyInTraining() throws {
        let g = Generator(seed: 4)
        let x = try Tensor.randn([2, 6, 32], generator: g)
        let attention = MultiHeadAttention(heads: 4, headDim: 8, scale: 0.25, causal: true, dropout: 0.5)
        try AttentionKernel.$current.withValue(.fused) {
            let plain = try AttentionKernel.$current.withValue(.explicit) { try attention(q: x, k: x, v: x, training: false) }
            XCTAssertLessThan(try ModelGolden.relativeError(try attention(q: x, k: x, v: x, training: false), plain), 1e-5)
            XCTAssertGreaterThan(try ModelGolden.relativeError(try attention(q: x, k: x, v: x, training: true), plain), 1e-2)
        }
    }

    /// While the coordinate check records, attention takes the explicit path so its logits exist.
    func testRecordingTakesTheExplicitPath() throws {
        let model = try makeModel(CoordCheck.Options(architecture: .gpt).config(width: 32), seed: 1)
        let batch = try CoordCheck.batch(CoordCheck.Options(architecture: .gpt), seed: 0)
        let (_, outputs) = try ActivationProbe.recording { try model.loss(batch, training: false) }
        XCTAssertTrue(outputs.contains { $0.name == "transformer.h.0.attn.logits" })
    }
}
