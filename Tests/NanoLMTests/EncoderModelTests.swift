import Foundation
import XCTest
import Torch
@testable import NanoLM

/// BERT and T5 against PyTorch goldens (scripts/model_goldens.py), their state-dict keys, attention
/// direction, and T5's relative-position buckets against Hugging Face's function.
final class EncoderModelTests: XCTestCase {
    func testBERTMatchesPyTorchGolden() throws {
        let golden = try ModelGolden("bert")
        let model = try BERT(config: ModelGolden.config(.bert, tied: false), generator: Generator(seed: 0))
        try golden.check(model) { try model.logits($0) }
    }

    func testTiedBERTMatchesPyTorchGolden() throws {
        let golden = try ModelGolden("bert_tied")
        let model = try BERT(config: ModelGolden.config(.bert, tied: true), generator: Generator(seed: 0))
        XCTAssertNil(model.namedParameters["cls.predictions.decoder.weight"], "a tied decoder is the word embedding")
        try golden.check(model) { try model.logits($0) }
    }

    func testT5MatchesPyTorchGolden() throws {
        let golden = try ModelGolden("t5")
        let model = try T5(config: ModelGolden.config(.t5, tied: false), generator: Generator(seed: 0))
        let decoderInputs = try XCTUnwrap(golden.tensors["decoder_inputs"])
        try golden.check(model) { try model.logits($0, decoderInputs: decoderInputs) }
    }

    func testRelativePositionBucketsEqualHuggingFace() throws {
        // Offsets key − query from −200 to 200: row 200 of a 201 × 201 table holds −200…0, row 0 holds 0…200.
        let golden = try ModelGolden("t5")
        for (name, bidirectional) in [("bidirectional", true), ("causal", false)] {
            let expected = try XCTUnwrap(golden.tensors["buckets.\(name)"]).toArray(Int64.self)
            let table = try relativePositionBuckets(queries: 201, keys: 201, bidirectional: bidirectional)
            let negative = try table.narrow(0, start: 200, length: 1).toArray(Int64.self)   // offsets −200…0
            let positive = try table.narrow(0, start: 0, length: 1).toArray(Int64.self)     // offsets 0…200
            XCTAssertEqual(negative + positive.dropFirst(), expected, name)
        }
        // By hand (HF, 32 buckets, max distance 128): bidirectional +1 → 16 + 1, −1 → 1, ±200 → 15 (+16);
        // causal −1 → 1, +5 → 0, −200 → 31.
        let b = try relativePositionBuckets(queries: 201, keys: 201, bidirectional: true)
        XCTAssertEqual(try b.narrow(0, start: 100, length: 1).toArray(Int64.self)[101], 17)
        XCTAssertEqual(try b.narrow(0, start: 100, length: 1).toArray(Int64.self)[99], 1)
        XCTAssertEqual(try b.narrow(0, start: 200, length: 1).toArray(Int64.self)[0], 15)
        XCTAssertEqual(try b.narrow(0, start: 0, length: 1).toArray(Int64.self)[200], 31)
        let c = try relativePositionBuckets(queries: 201, keys: 201, bidirectional: false)
        XCTAssertEqual(try c.narrow(0, start: 100, length: 1).toArray(Int64.self)[99], 1)
        XCTAssertEqual(try c.narrow(0, start: 100, length: 1).toArray(Int64.self)[105], 0)
        XCTAssertEqual(try c.narrow(0, start: 200, length: 1).toArray(Int64.self)[0], 31)
    }

    func testStateDictKeysFollowHuggingFace() throws {
        let bert = try BERT(config: ModelConfig(architecture: .bert, layers: 1, width: 64, vocabularySize: 32, sequenceLength: 8),
                            generator: Generator(seed: 0))
        let layer = "bert.encoder.layer.0"
        XCTAssertEqual(bert.parameters.map(\.name), [
            "bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
            "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.bias",
            "\(layer).attention.self.query.weight", "\(layer).attention.self.query.bias",
            "\(layer).attention.self.key.weight", "\(layer).attention.self.key.bias",
            "\(layer).attention.self.value.weight", "\(layer).attention.self.value.bias",
            "\(layer).attention.output.dense.weight", "\(layer).attention.output.dense.bias",
            "\(layer).attention.output.LayerNorm.weight", "\(layer).attention.output.LayerNorm.bias",
            "\(layer).intermediate.dense.weight", "\(layer).intermediate.dense.bias",
            "\(layer).output.dense.weight", "\(layer).output.dense.bias",
            "\(layer).output.LayerNorm.weight", "\(layer).output.LayerNorm.bias",
            "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
            "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
            "cls.predictions.decoder.weight", "cls.predictions.bias",
        ])
        let t5 = try T5(config: ModelConfig(architecture: .t5, layers: 1, width: 64, vocabularySize: 32, sequenceLength: 8, headDim: 32),
                        generator: Generator(seed: 0))
        let attention = ["q", "k", "v", "o"]
        let encoder = "encoder.block.0.layer", decoder = "decoder.block.0.layer"
        XCTAssertEqual(t5.parameters.map(\.name), ["shared.weight"]
            + attention.map { "\(encoder).0.SelfAttention.\($0).weight" }
            + ["\(encoder).0.SelfAttention.relative_attention_bias.weight", "\(encoder).0.layer_norm.weight"]
            + ["wi_0", "wi_1", "wo"].map { "\(encoder).1.DenseReluDense.\($0).weight" } + ["\(encoder).1.layer_norm.weight"]
            + ["encoder.final_layer_norm.weight"]
            + attention.map { "\(decoder).0.SelfAttention.\($0).weight" }
            + ["\(decoder).0.SelfAttention.relative_attention_bias.weight", "\(decoder).0.layer_norm.weight"]
            + attention.map { "\(decoder).1.EncDecAttention.\($0).weight" } + ["\(decoder).1.layer_norm.weight"]
            + ["wi_0", "wi_1", "wo"].map { "\(decoder).2.DenseReluDense.\($0).weight" } + ["\(decoder).2.layer_norm.weight"]
            + ["decoder.final_layer_norm.weight", "lm_head.weight"])
        XCTAssertEqual(t5.namedParameters["\(encoder).0.SelfAttention.relative_attention_bias.weight"]!.shape, [32, 2], "[buckets, heads]")
    }

    func testBERTAttendsBothWaysAndT5DecoderIsCausal() throws {
        let ids = try Tensor([Int64](arrayLiteral: 1, 2, 3, 4, 5, 6), shape: [1, 6])
        let changed = try Tensor([Int64](arrayLiteral: 1, 2, 3, 4, 9, 9), shape: [1, 6])
        let bert = try BERT(config: ModelConfig(architecture: .bert, layers: 2, width: 64, vocabularySize: 50, sequenceLength: 8,
                                                parametrization: .standard), generator: Generator(seed: 3))
        // A later token changes earlier predictions: the encoder is bidirectional.
        XCTAssertNotEqual(try bert.logits(ids).narrow(1, start: 0, length: 1).toArray(Float.self),
                          try bert.logits(changed).narrow(1, start: 0, length: 1).toArray(Float.self))
        let t5 = try T5(config: ModelConfig(architecture: .t5, layers: 2, width: 64, vocabularySize: 50, sequenceLength: 8,
                                            parametrization: .standard), generator: Generator(seed: 3))
        let source = try Tensor([Int64](arrayLiteral: 7, 8, 9), shape: [1, 3])
        let a = try t5.logits(source, decoderInputs: ids), b = try t5.logits(source, decoderInputs: changed)
        XCTAssertEqual(try a.narrow(1, start: 0, length: 4).toArray(Float.self), try b.narrow(1, start: 0, length: 4).toArray(Float.self))
        XCTAssertNotEqual(try a.narrow(1, start: 5, length: 1).toArray(Float.self), try b.narrow(1, start: 5, length: 1).toArray(Float.self))
        // The encoder's input reaches every decoder position (cross-attention).
        let other = try t5.logits(try Tensor([Int64](arrayLiteral: 7, 8, 1), shape: [1, 3]), decoderInputs: ids)
        XCTAssertNotEqual(try a.narrow(1, start: 0, length: 1).toArray(Float.self), try other.narrow(1, start: 0, length: 1).toArray(Float.self))
    }

    func testT5WithoutDecoderInputsIsAClearError() throws {
        let t5 = try T5(config: ModelConfig(architecture: .t5, layers: 1, width: 64, vocabularySize: 50), generator: Generator(seed: 0))
        let ids = try Tensor.zeros([1, 4], dtype: .int64)
        XCTAssertThrowsError(try t5.loss(Batch(inputs: ids, targets: ids), training: false)) { error in
            XCTAssertTrue("\(error)".contains("span-corruption"), "\(error)")
        }
    }
}
