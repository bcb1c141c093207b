import Foundation
import XCTest
import Torch
@testable import NanoLM

/// μP as the paper's Table 2 states it, on the built GPT and Llama; parameter counts against hand
/// numbers and the paper's Table 3.
final class ParametrizationTests: XCTestCase {
    func config(_ arch: Architecture, width: Int = 256, _ parametrization: Parametrization = .muP(baseWidth: 64),
                tied: Bool = false, hyper: MuHyperParameters = MuHyperParameters(initStd: 0.02, outputMultiplier: 2)) -> ModelConfig {
        ModelConfig(architecture: arch, layers: 2, width: width, vocabularySize: 300, sequenceLength: 16, headDim: 32,
                    tiedEmbeddings: tied, parametrization: parametrization, hyper: hyper)
    }

    /// The role each state-dict name must have, written out independently of the models.
    func expectedRole(_ name: String) -> ParameterRole {
        if name.hasSuffix(".bias") || name.contains("ln_") || name.contains("norm") || name.contains("layernorm") { return .vector }
        if name.contains("wte") || name.contains("wpe") || name.contains("embed_tokens") { return .input }
        if name.hasPrefix("lm_head") { return .output }
        return .hidden
    }

    func testEveryParameterHasTheRoleTable2Assigns() throws {
        for arch in [Architecture.gpt, .llama] {
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
        for arch in [Architecture.gpt, .llama] {
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
                case .input: XCTAssertEqual(std(values), 0.02, accuracy: 0.001, "\(p.name)")
                case .output: XCTAssertTrue(values.allSatisfy { $0 == 0 }, "zero readout \(p.name)")
                case .vector:
                    let isGain = p.name.hasSuffix(".weight")
                    XCTAssertTrue(values.allSatisfy { $0 == (isGain ? 1 : 0) }, "\(p.name)")
                }
            }
            XCTAssertEqual(try XCTUnwrap((model as? GPT)?.outputMultiplier ?? (model as? Llama)?.outputMultiplier), 0.5, "τ/r = 2/4")
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
        for arch in [Architecture.gpt, .llama] {
            let model = try makeModel(config(arch), seed: 4)
            let inputs = try Tensor.randint(0, 300, [2, 16], generator: Generator(seed: 5))
            let loss = try model.loss(Batch(inputs: inputs, targets: inputs), training: false).item()
            XCTAssertEqual(loss, Foundation.log(300), accuracy: 1e-6, "\(arch)")
        }
    }

    func testMuPEqualsSPAtTheBaseWidth() throws {
        for arch in [Architecture.gpt, .llama] {
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
            let la = try a.loss(Batch(inputs: ids, targets: ids), training: false).item()
            let lb = try b.loss(Batch(inputs: ids, targets: ids), training: false).item()
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
        // Hand counts, worked out in the comments of Counting.swift: GPT w64, 1 layer, V32, T8 = 54 720;
        // Llama w64, 1 layer, V32 = 69 824.
        let gpt = ModelConfig(architecture: .gpt, layers: 1, width: 64, vocabularySize: 32, sequenceLength: 8)
        let llama = ModelConfig(architecture: .llama, layers: 1, width: 64, vocabularySize: 32, sequenceLength: 8)
        XCTAssertEqual(try gpt.parameterCounts().total, 54_720)
        XCTAssertEqual(try gpt.parameterCounts().scaling, 54_720 - 512)
        XCTAssertEqual(try llama.parameterCounts().total, 69_824)
        for base in [gpt, llama] {
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
    }
}

func std(_ values: [Float]) -> Double {
    let n = Double(values.count)
    let mean = values.reduce(0) { $0 + Double($1) } / n
    return (values.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n).squareRoot()
}
