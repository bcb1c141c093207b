import Foundation
import XCTest
import Torch
@testable import NanoLM

/// AdamW and AdamWScale against PyTorch (scripts/optimizer_goldens.py), the schedule against its
/// formula computed by hand, and gradient clipping against torch.nn.utils.clip_grad_norm_.
final class OptimizerTests: XCTestCase {
    static let golden = try! SafeTensors.load(Bundle.module.url(forResource: "Fixtures/optimizer", withExtension: "safetensors")!).tensors
    let roles: [(String, ParameterRole, Double)] = [("hidden", .hidden, 0.5), ("vector", .vector, 1), ("input", .input, 1), ("zero", .hidden, 0.5)]

    func parameters() throws -> [Parameter] {
        try roles.map { name, role, multiplier in
            let init_ = Self.golden["init.\(name)"]!
            let p = try Parameter(name, role: role, shape: init_.shape)
            try withNoGrad { try p.value.copy_(init_) }
            p.learningRateMultiplier = multiplier
            return p
        }
    }

    func run(_ rule: AdamW.Rule, prefix: String) throws {
        let ps = try parameters()
        let optimizer = try AdamW(ps, options: .init(rule: rule, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1))
        let lrs = try Self.golden["lrs"]!.toArray(Double.self)
        for (i, lr) in lrs.enumerated() {
            for p in ps {
                try p.value.zeroGrad()
                // Make the golden gradient the parameter's gradient: d/dp sum(p · g) = g.
                try (p.value * Self.golden["grad\(i).\(p.name)"]!).sum().backward()
            }
            try optimizer.update(learningRate: lr)
            for p in ps {
                let expected = try Self.golden["\(prefix)\(i).\(p.name)"]!.toArray(Float.self)
                let actual = try p.value.toArray(Float.self)
                for (a, e) in zip(actual, expected) {
                    XCTAssertEqual(a, e, accuracy: 1e-6 + 1e-5 * abs(e), "\(prefix) step \(i) \(p.name)")
                }
            }
        }
        XCTAssertEqual(optimizer.step, lrs.count)
    }

    func testAdamWMatchesTorchOptimAdamW() throws { try run(.adamW, prefix: "adamw") }
    func testAdamWScaleMatchesNanoT5() throws { try run(.adamWScale, prefix: "adamwscale") }

    func testOptimizerStateRoundTrips() throws {
        let ps = try parameters()
        let a = try AdamW(ps)
        for p in ps { try p.value.sum().backward() }
        try a.update(learningRate: 1e-2)
        let b = try AdamW(ps)
        try b.load(a.state(), from: "test")
        XCTAssertEqual(b.step, 1)
        XCTAssertEqual(try b.exponentialSquares[0].toArray(Float.self), try a.exponentialSquares[0].toArray(Float.self))
        XCTAssertThrowsError(try b.load(["step": try Tensor([Int64(1)])], from: "ckpt.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("ckpt.safetensors"), "\(error)")
        }
    }

    func testClipGradientNormMatchesTorch() throws {
        let ps = try roles.map { name, role, _ in try Parameter(name, role: role, shape: Self.golden["clip.before.\(name)"]!.shape) }
        for p in ps { try (p.value * Self.golden["clip.before.\(p.name)"]!).sum().backward() }
        let total = try clipGradientNorm(ps, maxNorm: 1)
        XCTAssertEqual(total, try Self.golden["clip.total"]!.item(), accuracy: 1e-5)
        for p in ps {
            let expected = try Self.golden["clip.after.\(p.name)"]!.toArray(Float.self)
            for (a, e) in zip(try p.value.grad!.toArray(Float.self), expected) { XCTAssertEqual(a, e, accuracy: 1e-6) }
        }
    }

    /// Hand-computed values of warmup + cosine (peak 1e-2, warmup 4, total 12, floor 1e-5).
    func testScheduleFollowsTheFormula() {
        let s = Schedule(decay: .cosine, peak: 1e-2, warmupSteps: 4, totalSteps: 12, floor: 1e-5)
        XCTAssertEqual(s.learningRate(at: 0), 0.0025, accuracy: 1e-15)
        XCTAssertEqual(s.learningRate(at: 3), 0.01, accuracy: 1e-15)
        XCTAssertEqual(s.learningRate(at: 4), 0.01, accuracy: 1e-15)              // t = 0
        XCTAssertEqual(s.learningRate(at: 8), 0.005005, accuracy: 1e-15)          // t = ½: floor + (peak−floor)/2
        XCTAssertEqual(s.learningRate(at: 6), 1e-5 + 0.00999 * 0.5 * (1 + 0.5.squareRoot()), accuracy: 1e-15)  // t = ¼
        XCTAssertEqual(s.learningRate(at: 12), 1e-5, accuracy: 1e-15)
        XCTAssertEqual(s.learningRate(at: 50), 1e-5, accuracy: 1e-15)
        let linear = Schedule(decay: .linear, peak: 1, warmupSteps: 0, totalSteps: 10, floor: 0)
        XCTAssertEqual(linear.learningRate(at: 5), 0.5, accuracy: 1e-15)
        XCTAssertEqual(Schedule(decay: .constant, peak: 3, warmupSteps: 2, totalSteps: 10).learningRate(at: 7), 3)
    }
}
