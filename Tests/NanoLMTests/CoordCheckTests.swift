import Foundation
import XCTest
import Torch
@testable import NanoLM

/// The coordinate check as a test: μP passes and SP (the negative control) fails, for all four architectures.
final class CoordCheckTests: XCTestCase {
    /// The defaults (widths 64…512, two layers, four seeds, four steps): a few seconds each.
    func options(_ arch: Architecture, _ kind: Parametrization.Kind) -> CoordCheck.Options {
        CoordCheck.Options(architecture: arch, parametrization: kind)
    }

    func check(_ arch: Architecture, _ kind: Parametrization.Kind, passes: Bool) throws {
        let result = try CoordCheck.run(options(arch, kind))
        print(result.report)
        XCTAssertEqual(result.passed, passes, result.report)
    }

    func testGPTMuPPasses() throws { try check(.gpt, .muP, passes: true) }
    func testGPTStandardFails() throws { try check(.gpt, .standard, passes: false) }
    func testLlamaMuPPasses() throws { try check(.llama, .muP, passes: true) }
    func testLlamaStandardFails() throws { try check(.llama, .standard, passes: false) }
    func testBERTMuPPasses() throws { try check(.bert, .muP, passes: true) }
    func testBERTStandardFails() throws { try check(.bert, .standard, passes: false) }
    func testT5MuPPasses() throws { try check(.t5, .muP, passes: true) }
    func testT5StandardFails() throws { try check(.t5, .standard, passes: false) }

    /// The bug the issue names in the paper's released GPT code: μP init and multipliers, but hidden
    /// tensors train at l instead of l/r. The check must catch it.
    func testMuPWithoutHiddenLearningRateScalingFails() throws {
        let result = try CoordCheck.run(options(.gpt, .muP), prepare: { model in
            for p in model.parameters { p.learningRateMultiplier = 1 }
        })
        print(result.report)
        XCTAssertFalse(result.passed, result.report)
    }

    /// A bug confined to T5's cross-attention: its projections train at l instead of l/r (as if they
    /// were input tensors). Its logits and outputs then grow with width.
    func testT5CrossAttentionWithoutLearningRateScalingFails() throws {
        let result = try CoordCheck.run(options(.t5, .muP), prepare: { model in
            for p in model.parameters where p.name.contains("EncDecAttention") { p.learningRateMultiplier = 1 }
        })
        print(result.report)
        XCTAssertFalse(result.passed, result.report)
        XCTAssertTrue(result.failures.first?.module.contains("EncDecAttention") ?? false, "the steepest slope is the cross-attention's")
    }

    func testSlopeIsTheLogLogGradient() {
        XCTAssertEqual(CoordCheck.logLogSlope([64, 128, 256], [1, 2, 4])!, 1, accuracy: 1e-12)
        XCTAssertEqual(CoordCheck.logLogSlope([64, 128, 256], [3, 3, 3])!, 0, accuracy: 1e-12)
        XCTAssertNil(CoordCheck.logLogSlope([64, 128], [0, 1]))
    }

    func testOutputsAreWritten() throws {
        var o = options(.gpt, .muP)
        o.widths = [64, 128]; o.seeds = 1; o.steps = 1
        let result = try CoordCheck.run(o)
        XCTAssertEqual(result.csv.split(separator: "\n").count, 1 + 2 * 2 * 10, "header + widths × steps × modules")
        XCTAssertTrue(result.svg.hasPrefix("<svg"))
        XCTAssertTrue(result.svg.contains("transformer.h.1.mlp"))
    }
}
