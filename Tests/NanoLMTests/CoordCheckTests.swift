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
    func testT5StandardFailsAndMuPIsFlatBesideAttentionLogits() throws {
        // T5 under μP: every module output is flat, but the attention logits (q·k before the relative
        // bias) shrink mildly with width: slopes −0.1…−0.55 at widths 64…512, at most −0.17 at 128…1024. Not
        // understood yet (docs/DESIGN.md, "Models"); SP's logits grow with slopes +0.9…+1.7.
        let result = try CoordCheck.run(options(.t5, .muP))
        print(result.report)
        XCTAssertEqual(result.failures.filter { !$0.module.hasSuffix(".logits") }.map(\.module), [], result.report)
        XCTAssertTrue(result.failures.allSatisfy { $0.slope < 0 && $0.slope > -0.6 }, result.report)
    }
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
