import Foundation
import XCTest
import Torch
@testable import NanoLM

final class LlamaTests: XCTestCase {
    func testMatchesPyTorchGolden() throws {
        let golden = try ModelGolden("llama")
        let model = try Llama(config: ModelGolden.config(.llama, tied: false), generator: Generator(seed: 0))
        try golden.check(model) { try model.logits($0) }
    }

    func testStateDictKeysFollowHuggingFace() throws {
        let model = try Llama(config: ModelConfig(architecture: .llama, layers: 1, width: 64, vocabularySize: 32, sequenceLength: 8),
                              generator: Generator(seed: 0))
        XCTAssertEqual(model.parameters.map(\.name), [
            "model.embed_tokens.weight",
            "model.layers.0.input_layernorm.weight",
            "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.post_attention_layernorm.weight",
            "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
            "model.norm.weight", "lm_head.weight",
        ])
        XCTAssertTrue(model.parameters.allSatisfy { !$0.name.hasSuffix(".bias") }, "Llama has no biases")
    }

    func testBFloat16AutocastStaysCloseToFloat32() throws {
        // The trainer's --autocast path: same loss to bf16 precision, gradients reach every parameter.
        for arch in [Architecture.gpt, .llama] {
            let golden = try ModelGolden(arch == .gpt ? "gpt" : "llama")
            let model = try makeModel(ModelGolden.config(arch, tied: false), seed: 0)
            try model.load(golden.weights, from: "golden")
            let loss = try withAutocast(.bfloat16) { try model.loss(golden.batch, training: true) }
            XCTAssertEqual(try loss.item(), try golden.tensors["loss"]!.item(), accuracy: 0.05, "\(arch)")
            try loss.backward()
            XCTAssertTrue(model.parameters.allSatisfy { $0.value.grad != nil }, "\(arch)")
        }
    }

    func testRotaryIsARotationThatDependsOnlyOnRelativePosition() throws {
        // ⟨R(m)q, R(n)k⟩ depends only on m − n; and rotation keeps norms.
        let rotary = RotaryEmbedding(headDim: 8)
        let q = try Tensor.randn([1, 1, 1, 8], generator: Generator(seed: 1))
        let k = try Tensor.randn([1, 1, 1, 8], generator: Generator(seed: 2))
        func dot(_ m: Int, _ n: Int) throws -> Double {
            try (rotary(q, offset: m) * rotary(k, offset: n)).sum().item()
        }
        XCTAssertEqual(try dot(5, 2), try dot(13, 10), accuracy: 1e-5)
        XCTAssertEqual(try rotary(q, offset: 7).norm().item(), try q.norm().item(), accuracy: 1e-5)
    }
}
