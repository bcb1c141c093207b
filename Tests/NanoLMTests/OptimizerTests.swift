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

    /// The fused kernel against the loop (itself checked against torch.optim.AdamW above) on a μP GPT's
    /// parameters at twice the base width: hidden matrices at lr/2 with twice the decay, vectors without
    /// decay, embeddings at lr; five steps of random gradients at rising learning rates, one parameter
    /// without a gradient on one step. Parameters and both moments agree to 1e-6 of each tensor's largest
    /// element (both compute in float32 with double step sizes; the kernel forms m by lerp and the decay as
    /// p − lr·wd·p, so they differ by a few roundings per step).
    func testFusedAdamWEqualsTheLoop() throws {
        try XCTSkipUnless(Torch.hasFusedAdamW, "libtorch \(Torch.version) has no fused AdamW kernel (needs ≥ 2.4): the loop is the only implementation here")
        var coord = CoordCheck.Options(architecture: .gpt, parametrization: .muP)
        coord.baseWidth = 32
        let config = coord.config(width: 64)
        let models = try [makeModel(config, seed: 3), makeModel(config, seed: 3)]
        let groups = Set(models[0].parameters.map { [$0.learningRateMultiplier, $0.decays ? 1 / $0.learningRateMultiplier : 0] })
        XCTAssertGreaterThanOrEqual(groups.count, 3, "the test needs several (lr, decay) groups: \(groups)")
        let optimizers = try [AdamW.Implementation.loop, .fused].map { implementation in
            try AdamW(models[implementation == .loop ? 0 : 1].parameters,
                      options: .init(beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, implementation: implementation))
        }
        XCTAssertEqual(optimizers.map(\.implementation), [.loop, .fused])
        let generator = Generator(seed: 11)
        for step in 0 ..< 5 {
            for (i, p) in models[0].parameters.enumerated() {
                let gradient = try Tensor.randn(p.shape, generator: generator)
                for model in models {
                    let q = model.parameters[i]
                    try q.value.zeroGrad()
                    if step == 2, i == 0 { continue }  // no gradient: both skip it
                    try (q.value * gradient).sum().backward()
                }
            }
            for optimizer in optimizers { try optimizer.update(learningRate: 1e-2 * Double(step + 1) / 5) }
        }
        var worst = 0.0
        for (i, p) in models[0].parameters.enumerated() {
            let pairs = [(p.value, models[1].parameters[i].value),
                         (optimizers[0].exponentialAverages[i], optimizers[1].exponentialAverages[i]),
                         (optimizers[0].exponentialSquares[i], optimizers[1].exponentialSquares[i])]
            for (loop, fused) in pairs {
                let scale = try loop.abs().max().item() as Double
                let difference = try (fused - loop).abs().max().item() as Double
                XCTAssertLessThanOrEqual(difference, 1e-6 * scale, "\(p.name): fused differs from the loop by \(difference) (largest |x| \(scale))")
                if scale > 0 { worst = Swift.max(worst, difference / scale) }
            }
        }
        XCTAssertEqual(optimizers[1].step, 5)
        print("fused AdamW against the loop: max |difference| / max |x| = \(worst) over parameters and moments")
    }

    /// The choice of implementation: the CPU loops unless told otherwise (its results stay bitwise what
    /// they were); AdamWScale has no fused kernel; and the field is left out
    /// of a config's JSON when not set (run ids of existing configs do not change).
    func testImplementationChoice() throws {
        let ps = try parameters()
        XCTAssertEqual(try AdamW(ps).implementation, .loop)
        XCTAssertThrowsError(try AdamW(ps, options: .init(rule: .adamWScale, implementation: .fused))) { error in
            XCTAssertTrue("\(error)".contains("adamwscale"), "\(error)")
        }
        let json = String(decoding: try JSONEncoder().encode(AdamW.Options()), as: UTF8.self)
        XCTAssertFalse(json.contains("implementation"), json)
        let old = #"{"rule":"adamw","beta1":0.9,"beta2":0.999,"eps":1e-8,"weightDecay":0}"#
        XCTAssertEqual(try JSONDecoder().decode(AdamW.Options.self, from: Data(old.utf8)), AdamW.Options())
    }

    /// Asking for the fused kernel on an engine without it (Debian's 1.13) is a clear error, not the loop.
    func testFusedAdamWIsAnErrorWithoutTheKernel() throws {
        try XCTSkipIf(Torch.hasFusedAdamW, "libtorch \(Torch.version) has the fused AdamW kernel")
        XCTAssertThrowsError(try AdamW(try parameters(), options: .init(implementation: .fused))) { error in
            XCTAssertTrue("\(error)".contains("no fused AdamW kernel") && "\(error)".contains(Torch.version), "\(error)")
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
