import Foundation
import XCTest
@testable import Torch

/// Every op against PyTorch 1.13 (scripts/torch_goldens.py wrote Fixtures/ops.safetensors with Python's
/// safetensors): outputs, and gradients of sum(out · w) with respect to each float input.
final class GoldenTests: XCTestCase {
    /// The Swift call for each case in the script, by the same name.
    static let cases: [String: ([Tensor]) throws -> [Tensor]] = [
        "neg": { [try -$0[0]] },
        "abs": { [try $0[0].abs()] },
        "exp": { [try $0[0].exp()] },
        "log": { [try $0[0].log()] },
        "sqrt": { [try $0[0].sqrt()] },
        "rsqrt": { [try $0[0].rsqrt()] },
        "sin": { [try $0[0].sin()] },
        "cos": { [try $0[0].cos()] },
        "tanh": { [try $0[0].tanh()] },
        "sigmoid": { [try $0[0].sigmoid()] },
        "relu": { [try $0[0].relu()] },
        "silu": { [try $0[0].silu()] },
        "gelu": { [try $0[0].gelu()] },
        "gelu_tanh": { [try $0[0].gelu(approximateTanh: true)] },
        "pow_scalar": { [try $0[0].pow(3)] },
        "pow": { [try $0[0].pow($0[1])] },
        "add": { [try $0[0] + $0[1]] },
        "sub": { [try $0[0] - $0[1]] },
        "mul": { [try $0[0] * $0[1]] },
        "div": { [try $0[0] / $0[1]] },
        "add_scalar": { [try $0[0] + 2.5] },
        "mul_scalar": { [try $0[0] * -1.5] },
        "rsub_scalar": { [try 1.0 - $0[0]] },
        "rdiv_scalar": { [try 2.0 / $0[0]] },
        "maximum": { [try $0[0].maximum($0[1])] },
        "minimum": { [try $0[0].minimum($0[1])] },
        "clamp": { [try $0[0].clamp(min: -0.5, max: 0.5)] },
        "matmul": { [try $0[0].matmul($0[1])] },
        "bmm": { [try $0[0].bmm($0[1])] },
        "linear": { [try $0[0].linear($0[1], bias: $0[2])] },
        "sum_all": { [try $0[0].sum()] },
        "sum_dim": { [try $0[0].sum(dim: 1, keepDim: true)] },
        "mean_dims": { [try $0[0].mean(dims: [0, 2])] },
        "max_dim": { let r = try $0[0].max(dim: 1); return [r.values, r.indices] },
        "argmax": { [try $0[0].argmax(dim: -1)] },
        "norm": { [try $0[0].norm()] },
        "norm_dim": { [try $0[0].norm(2, dims: [1], keepDim: true)] },
        "softmax": { [try $0[0].softmax(dim: -1)] },
        "log_softmax": { [try $0[0].logSoftmax(dim: -1)] },
        "layer_norm": { [try $0[0].layerNorm([8], weight: $0[1], bias: $0[2], eps: 1e-5)] },
        "embedding": { [try $0[0].embedding($0[1])] },
        "cross_entropy": { [try crossEntropy($0[0], $0[1], ignoreIndex: -100)] },
        "cross_entropy_sum": { [try crossEntropy($0[0], $0[1], reduction: .sum)] },
        "masked_fill": { [try $0[0].maskedFill($0[1], -1e4)] },
        "where": { [try Tensor.where($0[0], $0[1], $0[2])] },
        "triu": { [try $0[0].triu(1)] },
        "tril": { [try $0[0].tril()] },
        "reshape": { [try $0[0].reshape([6, 4])] },
        "transpose": { [try $0[0].transpose(1, 2).contiguous()] },
        "permute": { [try $0[0].permute([2, 0, 1]).contiguous()] },
        "narrow": { [try $0[0].narrow(0, start: 1, length: 3)] },
        "slice_step": { [try $0[0].slice(0, 1, 6, step: 2)] },
        "expand": { [try $0[0].expand([3, 4])] },
        "unsqueeze": { [try $0[0].unsqueeze(1)] },
        "squeeze": { [try $0[0].squeeze(1)] },
        "cat": { [try Tensor.cat([$0[0], $0[1]], dim: 0)] },
        "stack": { [try Tensor.stack([$0[0], $0[1]], dim: 1)] },
        "split": { try $0[0].split(size: 3, dim: 0) },
        "chunk": { try $0[0].chunk(4, dim: 1) },
        "index_select": { [try $0[0].indexSelect(dim: 0, index: $0[1])] },
        "gather": { [try $0[0].gather(dim: 1, index: $0[1])] },
    ]

    static let golden: SafeTensors.Contents = {
        let url = Bundle.module.url(forResource: "Fixtures/ops", withExtension: "safetensors")!
        return try! SafeTensors.load(url)
    }()

    func testEveryGoldenOpHasASwiftCase() {
        let names = Set(Self.golden.tensors.keys.map { String($0.split(separator: ".")[0]) })
        XCTAssertEqual(names, Set(Self.cases.keys), "ops in the fixture and in the test differ")
        XCTAssertEqual(names.count, 61)
    }

    func testOutputsAndGradientsMatchPyTorch() throws {
        let t = Self.golden.tensors
        var compared = 0
        for (name, call) in Self.cases.sorted(by: { $0.key < $1.key }) {
            var inputs: [Tensor] = []
            while let x = t["\(name).in\(inputs.count)"] {
                inputs.append(x.dtype.isFloatingPoint ? try x.clone().requiringGrad() : x)
            }
            XCTAssertFalse(inputs.isEmpty, name)
            let outputs = try call(inputs)
            var loss: Tensor?
            for (k, out) in outputs.enumerated() {
                let key = outputs.count == 1 ? "\(name).out" : "\(name).out\(k)"
                guard let expected = t[key] else { XCTFail("\(key) missing from the fixture"); continue }
                try assertClose(out, expected, key)
                compared += 1
                if let w = t[key.replacingOccurrences(of: ".out", with: ".w")] {
                    let term = try (out * w).sum()
                    loss = try loss.map { try $0 + term } ?? term
                }
            }
            XCTAssertNil(t[outputs.count == 1 ? "\(name).out1" : "\(name).out\(outputs.count)"], "\(name): too few outputs")
            guard let loss else { continue }
            try loss.backward()
            for (i, x) in inputs.enumerated() where x.requiresGrad {
                let key = "\(name).grad\(i)"
                guard let expected = t[key] else { XCTFail("\(key) missing from the fixture"); continue }
                let grad = try x.grad ?? Tensor.zeros(x.shape)
                try assertClose(grad, expected, key)
                compared += 1
            }
        }
        XCTAssertEqual(compared, 143, "outputs and gradients compared")
    }

    func assertClose(_ actual: Tensor, _ expected: Tensor, _ what: String, rtol: Double = 1e-5, atol: Double = 1e-6) throws {
        XCTAssertEqual(actual.shape, expected.shape, "\(what): shape")
        XCTAssertEqual(actual.dtype, expected.dtype, "\(what): dtype")
        guard actual.shape == expected.shape else { return }
        let a = try actual.toArray(Double.self)
        let e = try expected.toArray(Double.self)
        for (i, (x, y)) in zip(a, e).enumerated() where Swift.abs(x - y) > atol + rtol * Swift.abs(y) {
            XCTFail("\(what)[\(i)]: \(x) vs PyTorch \(y)")
            return
        }
    }
}
