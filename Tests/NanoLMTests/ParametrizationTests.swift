import Foundation
import XCTest
import Torch
@testable import NanoLM

/// μP as the paper's Table 2 states it, on the built GPT, Llama, BERT and T5; parameter counts against
/// hand numbers, Hugging Face's published counts and the paper's Table 3.
final class ParametrizationTests: XCTestCase {
    func config(_ arch: Architecture, width: Int = 256, _ parametrization: Parametrization = .muP(baseWidth: 64),
                tied: Bool = false, hyper: MuHyperParameters = MuHyperParameters(initStd: 0.02, outputMultiplier: 2)) -> ModelConfig {
        ModelConfig(architecture: arch, layers: 2, width: width, vocabularySize: 300, sequenceLength: 16, headDim: 32,
                    tiedEmbeddings: tied, parametrization: parametrization, hyper: hyper)
    }

    /// The role each state-dict name must have, written out independently of the models.
    func expectedRole(_ name: String) -> ParameterRole {
        if name.hasSuffix(".bias") || name.contains("ln_") || name.lowercased().contains("norm") { return .vector }
        if name.contains("wte") || name.contains("wpe") || name.contains("embed_tokens") || name.contains("_embeddings.")
            || name == "shared.weight" || name.contains("relative_attention_bias") { return .input }
        if name.hasPrefix("lm_head") || name.hasPrefix("cls.predictions.decoder") { return .output }
        return .hidden
    }

    /// A batch every architecture accepts: targets at every position, T5's decoder reading the same ids.
    func batch(_ arch: Architecture, _ ids: Tensor) -> Batch {
        Batch(inputs: ids, targets: ids, decoderInputs: arch == .t5 ? ids : nil)
    }

    func outputMultiplier(_ model: any LanguageModel) -> Double? {
        (model as? GPT)?.outputMultiplier ?? (model as? Llama)?.outputMultiplier ?? (model as? BERT)?.outputMultiplier
            ?? (model as? T5)?.outputMultiplier
    }

    func testEveryParameterHasTheRoleTable2Assigns() throws {
        for arch in Architecture.allCases {
            let model = try makeModel(config(arch), seed: 1)
            for p in model.parameters {
                XCTAssertEqual(p.role, expectedRole(p.name), "\(arch) \(p.name)")
                // l/r for hidden (r = 256/64 = 4), l otherwise.
                XCTAssertEqual(p.learningRateMultiplier, p.role == .hidden ? 0.25 : 1, "\(p.name)")
            }
            XCTAssertEqual(Set(model.parameters.map(\.role)), Set(ParameterRole.allCases), "\(arch) uses all four roles")
        }
    }

    func testInitialisationFollowsTable2() throws {
        for arch in Architecture.allCases {
            let model = try makeModel(config(arch), seed: 2)
            for p in model.parameters {
                let values = try p.value.toArray(Float.self)
                switch p.role {
                case .hidden:
                    // σ/√r = 0.02/2, except query rows (zero_query).
                    var rest = values
                    if let rows = p.queryRows {
                        let columns = p.shape[1]
                        XCTAssertTrue(values[(rows.lowerBound * columns) ..< (rows.upperBound * columns)].allSatisfy { $0 == 0 }, "\(p.name) query rows")
                        rest = Array(values[(rows.upperBound * columns)...])
                    }
                    if !rest.isEmpty { XCTAssertEqual(std(rest), 0.01, accuracy: 0.0005, "\(p.name)") }
                    XCTAssertEqual(p.initialization, .normal(std: 0.01))
                case .input:
                    // Small tables (BERT's 2 token types, T5's 32 × heads buckets) estimate σ less precisely.
                    XCTAssertEqual(std(values), 0.02, accuracy: values.count < 4096 ? 0.003 : 0.001, "\(p.name)")
                case .output: XCTAssertTrue(values.allSatisfy { $0 == 0 }, "zero readout \(p.name)")
                case .vector:
                    let isGain = p.name.hasSuffix(".weight")
                    XCTAssertTrue(values.allSatisfy { $0 == (isGain ? 1 : 0) }, "\(p.name)")
                }
            }
            XCTAssertEqual(try XCTUnwrap(outputMultiplier(model)), 0.5, "τ/r = 2/4")
        }
    }

    func testTiedEmbeddingIsNotZeroedByZeroReadout() throws {
        // The paper's released code zeroes the tied embedding with zero_emb; here the shared matrix is an
        // input embedding (σ, l) that is used as readout with the output multiplier.
        let model = try GPT(config: config(.gpt, tied: true), generator: Generator(seed: 3))
        let wte = try XCTUnwrap(model.namedParameters["transformer.wte.weight"])
        XCTAssertEqual(std(try wte.value.toArray(Float.self)), 0.02, accuracy: 0.001)
        XCTAssertNil(model.namedParameters["lm_head.weight"])
    }

    func testInitialLossIsLogVocabularyWithZeroReadout() throws {
        for arch in Architecture.allCases {
            let model = try makeModel(config(arch), seed: 4)
            let inputs = try Tensor.randint(0, 300, [2, 16], generator: Generator(seed: 5))
            let loss = try model.loss(batch(arch, inputs), training: false).item()
            XCTAssertEqual(loss, Foundation.log(300), accuracy: 1e-6, "\(arch)")
        }
    }

    func testMuPEqualsSPAtTheBaseWidth() throws {
        for arch in Architecture.allCases {
            let mu = config(arch, width: 64, .muP(baseWidth: 64))
            var sp = config(arch, width: 64, Parametrization(kind: .standard, zeroQuery: true, zeroReadout: true))
            sp.headDim = 64  // μP's default attention multiplier 8 = √64: identical scales at d_head 64
            var muConfig = mu
            muConfig.headDim = 64
            let a = try makeModel(muConfig, seed: 6), b = try makeModel(sp, seed: 6)
            for (p, q) in zip(a.parameters, b.parameters) {
                XCTAssertEqual(p.name, q.name)
                XCTAssertEqual(try p.value.toArray(Float.self), try q.value.toArray(Float.self), "\(p.name)")
                XCTAssertEqual(p.learningRateMultiplier, 1)
                XCTAssertEqual(q.learningRateMultiplier, 1)
            }
            // Non-zero readout so the logits say something: perturb both identically.
            try withNoGrad { for (p, q) in zip(a.parameters, b.parameters) where p.role == .output || p.queryRows != nil {
                let noise = try Tensor.randn(p.shape, generator: Generator(seed: 7)) * 0.02
                try p.value.add_(noise); try q.value.add_(noise)
            } }
            let ids = try Tensor.randint(0, 300, [2, 16], generator: Generator(seed: 8))
            let la = try a.loss(batch(arch, ids), training: false).item()
            let lb = try b.loss(batch(arch, ids), training: false).item()
            XCTAssertEqual(la, lb, "\(arch)")
        }
    }

    func testSPDoesNotScaleWithWidth() throws {
        let model = try makeModel(config(.gpt, width: 256, .standard), seed: 9)
        for p in model.parameters {
            XCTAssertEqual(p.learningRateMultiplier, 1)
            if p.role == .hidden { XCTAssertEqual(p.initialization, .normal(std: 0.02)) }
        }
        XCTAssertEqual(Parametrization.standard.attentionScale(headDim: 64), 0.125)
        XCTAssertEqual(Parametrization.muP().attentionScale(headDim: 32), 0.25)
    }

    // MARK: - Counting

    func testCountsEqualHandNumbersAndTheBuiltModels() throws {
        // Hand counts, worked out in the comments of ScalingLaws' ParameterCounts.swift: GPT w64, 1 layer, V32, T8 = 54 720;
        // Llama w64, 1 layer, V32 = 69 824.
        let gpt = ModelConfig(architecture: .gpt, layers: 1, width: 64, vocabularySize: 32, sequenceLength: 8)
        let llama = ModelConfig(architecture: .llama, layers: 1, width: 64, vocabularySize: 32, sequenceLength: 8)
        XCTAssertEqual(try gpt.parameterCounts().total, 54_720)
        XCTAssertEqual(try gpt.parameterCounts().scaling, 54_720 - 512)
        XCTAssertEqual(try llama.parameterCounts().total, 69_824)
        let bert = ModelConfig(architecture: .bert, layers: 1, width: 64, vocabularySize: 32, sequenceLength: 8)
        let t5 = ModelConfig(architecture: .t5, layers: 1, width: 64, vocabularySize: 32, sequenceLength: 8)
        for base in [gpt, llama, bert, t5] {
            for (layers, width, tied) in [(1, 64, false), (2, 128, true), (3, 192, false)] {
                var c = base
                c.layers = layers; c.width = width; c.tiedEmbeddings = tied
                let model = try makeModel(c, seed: 0)
                let counts = try c.parameterCounts()
                XCTAssertEqual(model.parameterCount, counts.total, "\(c.architecture) \(layers)×\(width) tied \(tied)")
                XCTAssertEqual(model.parameterCount(includingPositionEmbeddings: false), counts.scaling)
            }
        }
    }

    func testCountsEqualHuggingFacePublishedModels() throws {
        // bert-base-uncased as BertForMaskedLM: 109,514,298 parameters (HF's num_parameters()).
        let bertBase = ParameterCounts.bert(layers: 12, width: 768, vocabulary: 30522, sequenceLength: 512, ffnWidth: 3072,
                                            tiedEmbeddings: true)
        XCTAssertEqual(bertBase.total, 109_514_298)
        // google/t5-v1_1-base: 247,577,856 (12 + 12 blocks of 768, 12 heads, gated FFN 2048, V 32128, untied).
        let t5Base = ParameterCounts.t5(layers: 12, width: 768, vocabulary: 32128, ffnWidth: 2048, heads: 12, tiedEmbeddings: false)
        XCTAssertEqual(t5Base.total, 247_577_856)
        // The same through ModelConfig (ffnRatio 2048/768 rounds to 2048).
        let config = ModelConfig(architecture: .t5, layers: 12, width: 768, vocabularySize: 32128, headDim: 64, ffnRatio: 2048.0 / 768)
        XCTAssertEqual(try config.parameterCounts().total, 247_577_856)
    }

    func testCountsReproduceTable3() throws {
        func check(_ arch: Architecture, layers: Int, tied: Bool, sequence: Int = 1024, total: Bool = false,
                   _ table: [(Int, Double)], unit: Double) throws {
            for (width, paper) in table {
                let c = ModelConfig(architecture: arch, layers: layers, width: width, vocabularySize: 50304,
                                    sequenceLength: sequence, headDim: 64, ffnRatio: 4, tiedEmbeddings: tied)
                let counts = try c.parameterCounts()
                let ours = Double(total ? counts.total : counts.scaling) / unit
                XCTAssertEqual(ours, paper, accuracy: 0.01 * paper, "\(layers)-layer \(arch) width \(width)")
            }
        }
        // (a) 12-layer, millions: tied embeddings, no position embeddings (nanoGPT's get_num_params).
        try check(.gpt, layers: 12, tied: true, [(128, 8.82), (256, 22.36), (384, 40.61), (512, 63.59), (640, 91.28), (768, 123.6), (1024, 202.67)], unit: 1e6)
        try check(.llama, layers: 12, tied: true, [(128, 9.59), (256, 25.47), (384, 47.64), (512, 76.10), (640, 110.85), (768, 151.9), (1024, 252.86)], unit: 1e6)
        // 12-layer T5: the paper's sizes are our untied count plus one more V·w, i.e. the shared embedding
        // counted once per stack as HF's state dict lists it (encoder.embed_tokens, decoder.embed_tokens)
        // — docs/DESIGN.md, "Counting". BERT's sizes are not reproduced (see there).
        for (width, paper) in [(128, 26.46), (256, 67.03), (384, 121.75), (512, 190.63), (640, 273.66), (1024, 607.70)] {
            let c = ModelConfig(architecture: .t5, layers: 12, width: width, vocabularySize: 50304, headDim: 64, ffnRatio: 4)
            let ours = Double(try c.parameterCounts().total + 50304 * width) / 1e6
            XCTAssertEqual(ours, paper, accuracy: 0.01 * paper, "12-layer T5 width \(width)")
        }
        // (b) 32-layer GPT, billions, same convention.
        try check(.gpt, layers: 32, tied: true, [(256, 0.038), (384, 0.076), (512, 0.126), (640, 0.189), (768, 0.265),
                                                (896, 0.353), (1024, 0.454), (2048, 1.714), (8192, 26.185)], unit: 1e9)
        // (b) 64-layer GPT (Megatron), billions: every tensor, untied readout, positions of 2048.
        try check(.gpt, layers: 64, tied: false, sequence: 2048, total: true,
                  [(256, 0.077), (384, 0.153), (512, 0.254), (640, 0.381), (768, 0.532), (896, 0.709), (1024, 0.911),
                   (2048, 3.432), (8192, 52.385)], unit: 1e9)
    }

    func testAuditListsEveryTensorWithItsMultipliers() throws {
        // GPT, 2 layers, width 256 under μP with base 64 (r = 4), τ = 2, untied: what `nanolm params --audit` prints.
        let c = config(.gpt, width: 256)
        let model = try makeModel(c, seed: 0)
        let rows = c.audit(model)
        XCTAssertEqual(rows.map(\.name), model.parameters.map(\.name))
        let byName = Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0) })
        let cAttn = try XCTUnwrap(byName["transformer.h.0.attn.c_attn.weight"])
        XCTAssertEqual(cAttn.role, .hidden)
        XCTAssertEqual(cAttn.learningRateMultiplier, 0.25)
        XCTAssertEqual(cAttn.initStd, 0.01)
        XCTAssertTrue(cAttn.initialization.contains("rows 0..<256 zeros"), cAttn.initialization)
        XCTAssertTrue(cAttn.note.contains("q·k × 0.25"), cAttn.note)  // 8 / d_head 32
        let head = try XCTUnwrap(byName["lm_head.weight"])
        XCTAssertEqual(head.forwardMultiplier, 0.5)
        XCTAssertEqual(head.initialization, "zeros")
        XCTAssertEqual(byName["transformer.wte.weight"]?.learningRateMultiplier, 1)
        let counts = try c.parameterCounts()
        print(c.countsReport(counts: counts, flops: try c.trainingFLOPsPerToken(), audit: rows))
    }

    func testTrainingFLOPsPerToken() throws {
        // GPT: 72·l·w² + 12·l·s·w + 6·V·w (Narayanan et al. without recomputation), by hand for l=2, w=128, s=64, V=512.
        let gpt = ModelConfig(architecture: .gpt, layers: 2, width: 128, vocabularySize: 512, sequenceLength: 64)
        let layersTerm: Double = 72 * 2 * 16384
        let sequenceTerm: Double = 12 * 2 * 64 * 128
        let vocabularyTerm: Double = 6 * 512 * 128
        XCTAssertEqual(try gpt.trainingFLOPsPerToken(), layersTerm + sequenceTerm + vocabularyTerm)
        // Llama: 6·(l·(4w² + 3wf) + Vw) + 12·l·s·w with f = 4w.
        let llama = ModelConfig(architecture: .llama, layers: 2, width: 128, vocabularySize: 512, sequenceLength: 64)
        let llamaMatrices: Double = 2 * (4 * 16384 + 3 * 128 * 512) + 512 * 128
        let attention: Double = 12 * 2 * 64 * 128
        XCTAssertEqual(try llama.trainingFLOPsPerToken(), 6 * llamaMatrices + attention)
        // BERT: GPT's matrices plus the MLM transform w². T5: encoder 4w² + 3wf and decoder 8w² + 3wf per
        // layer, three attention products per layer.
        let bert = ModelConfig(architecture: .bert, layers: 2, width: 128, vocabularySize: 512, sequenceLength: 64)
        XCTAssertEqual(try bert.trainingFLOPsPerToken(), layersTerm + sequenceTerm + vocabularyTerm + 6 * 16384)
        let t5 = ModelConfig(architecture: .t5, layers: 2, width: 128, vocabularySize: 512, sequenceLength: 64)
        let t5Matrices: Double = 2 * (4 * 16384 + 3 * 128 * 512) + 2 * (8 * 16384 + 3 * 128 * 512) + 512 * 128
        XCTAssertEqual(try t5.trainingFLOPsPerToken(), 6 * t5Matrices + 3 * attention)
    }
}

func std(_ values: [Float]) -> Double {
    let n = Double(values.count)
    let mean = values.reduce(0) { $0 + Double($1) } / n
    return (values.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n).squareRoot()
}
