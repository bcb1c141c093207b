import Foundation
import XCTest
@testable import Torch

/// Creation, conversion, autograd scopes and the error convention.
final class TensorTests: XCTestCase {
    func testArraysRoundTripInEveryDType() throws {
        XCTAssertEqual(try Tensor([1.5, -2, 3] as [Float], shape: [3, 1]).toArray(Float.self), [1.5, -2, 3])
        XCTAssertEqual(try Tensor([1, -(1 << 40)] as [Int64]).toArray(Int64.self), [1, -(1 << 40)])
        XCTAssertEqual(try Tensor([true, false] as [Bool]).toArray(Bool.self), [true, false])
        let bf16 = try Tensor([1, 0.5, 3.140625] as [Float]).to(.bfloat16)
        XCTAssertEqual(bf16.dtype, .bfloat16)
        XCTAssertEqual(try bf16.toArray(Float.self), [1, 0.5, 3.140625])  // exactly representable in bf16
        XCTAssertEqual(try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3]).shape, [2, 3])
    }

    func testCreation() throws {
        XCTAssertEqual(try Tensor.zeros([2, 2]).toArray(Float.self), [0, 0, 0, 0])
        XCTAssertEqual(try Tensor.ones([3], dtype: .int64).toArray(Int64.self), [1, 1, 1])
        XCTAssertEqual(try Tensor.full([2], value: 7.5).toArray(Float.self), [7.5, 7.5])
        XCTAssertEqual(try Tensor.arange(0, 5).toArray(Int64.self), [0, 1, 2, 3, 4])
        XCTAssertEqual(try Tensor(scalar: 2.5).item(), 2.5)
        let r = try Tensor.randint(3, 7, [1000], generator: Generator(seed: 1)).toArray(Int64.self)
        XCTAssertEqual(Set(r), [3, 4, 5, 6])
        let u = try Tensor.rand([10000], generator: Generator(seed: 2))
        XCTAssertEqual(try u.mean().item(), 0.5, accuracy: 0.02)
        let n = try Tensor.randn([10000], generator: Generator(seed: 3))
        XCTAssertEqual(try n.pow(2).mean().item(), 1.0, accuracy: 0.05)
    }

    func testSeededGeneratorsReproduceAndRestoreState() throws {
        let a = try Tensor.randn([5], generator: Generator(seed: 42)).toArray(Float.self)
        let b = try Tensor.randn([5], generator: Generator(seed: 42)).toArray(Float.self)
        XCTAssertEqual(a, b)
        // PyTorch: torch.randn(3, generator=torch.Generator().manual_seed(0))
        let expected: [Float] = [1.5409961, -0.2934289, -2.1787894]
        let c = try Tensor.randn([3], generator: Generator(seed: 0)).toArray(Float.self)
        for (x, y) in zip(c, expected) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        let g = Generator(seed: 9)
        let state = try g.state()
        let first = try Tensor.rand([4], generator: g).toArray(Float.self)
        try g.setState(state)
        XCTAssertEqual(try Tensor.rand([4], generator: g).toArray(Float.self), first)
    }

    func testShapeMismatchThrowsWithOpShapesAndMessage() throws {
        let a = try Tensor.zeros([2, 3])
        let b = try Tensor.zeros([4, 5])
        XCTAssertThrowsError(try a.matmul(b)) { error in
            guard let e = error as? TorchError else { return XCTFail("not a TorchError: \(error)") }
            XCTAssertEqual(e.op, "matmul")
            XCTAssertEqual(e.shapes, [[2, 3], [4, 5]])
            XCTAssertTrue(e.message.contains("cannot be multiplied"), e.message)
            XCTAssertFalse(e.message.contains("frame #"), "C++ backtrace leaked into the message")
            XCTAssertTrue(e.description.hasPrefix("matmul([2, 3], [4, 5]): "), e.description)
        }
        XCTAssertThrowsError(try a + b)
        XCTAssertThrowsError(try a.reshape([7]))
        XCTAssertThrowsError(try Tensor([1, 2, 3] as [Float], shape: [2, 2]))
        XCTAssertThrowsError(try a.item())
        XCTAssertThrowsError(try crossEntropy(a, try Tensor([5, 0] as [Int64])))  // class 5 out of range
        // The thread still works after errors.
        XCTAssertEqual(try (a + 1).sum().item(), 6)
    }

    func testAutogradScopes() throws {
        let w = try Tensor([2, 3] as [Float]).requiringGrad()
        try (w * w).sum().backward()
        XCTAssertEqual(try w.grad!.toArray(Float.self), [4, 6])
        try (w * w).sum().backward()  // accumulates
        XCTAssertEqual(try w.grad!.toArray(Float.self), [8, 12])
        try w.zeroGrad()
        XCTAssertNil(w.grad)
        let y = try withNoGrad { try w * 2 }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(try (w * 2).requiresGrad)
        XCTAssertFalse(try w.detach().requiresGrad)
    }

    func testInPlaceOptimizerUpdates() throws {
        let p = try Tensor([1, 2] as [Float])
        let g = try Tensor([0.5, -1] as [Float])
        try p.add_(g, alpha: -2)                // [0, 4]
        try p.mul_(0.5)                         // [0, 2]
        try p.addcmul_(g, g, value: 4)          // [1, 6]
        try p.addcdiv_(g, try Tensor([0.25, 0.5] as [Float]), value: 1)  // [3, 4]
        XCTAssertEqual(try p.toArray(Float.self), [3, 4])
        try p.copy_(g)
        XCTAssertEqual(try p.toArray(Float.self), [0.5, -1])
        try p.zero_()
        XCTAssertEqual(try p.toArray(Float.self), [0, 0])
    }

    /// Attention's products through `headMatmul` (one OpenBLAS sgemm per head on the strided views) give
    /// libtorch's `matmul` numbers bit for bit, forward and backward: heads cut from a fused qkv as GPT's,
    /// the output transposed back as attention does. Also at a size below at::bmm's own small kernel.
    func testHeadMatmulEqualsMatmulBitForBitForwardAndBackward() throws {
        for (batch, length, width, headDim) in [(2, 32, 64, 16), (3, 40, 48, 8), (1, 4, 8, 4)] {
            let heads = width / headDim
            let input = try Tensor.randn([batch, length, 3 * width], generator: Generator(seed: 7))
            let upstream = try Tensor.randn([batch, length, width], generator: Generator(seed: 8))
            func attention(_ product: (Tensor, Tensor) throws -> Tensor) throws -> (output: [Float], grad: [Float]) {
                let qkv = try input.clone().requiringGrad()                                    // [B, T, 3W]
                let parts = try qkv.split(size: width, dim: 2)
                let (q, k, v) = try (splitHeads(parts[0]), splitHeads(parts[1]), splitHeads(parts[2]))       // [B, H, T, D]
                let weights = try product(q * 0.25, k.transpose(-2, -1)).softmax(dim: -1)    // [B, H, T, T]
                let y = try product(weights, v).transpose(1, 2).contiguous().view([batch, length, width])
                try y.backward(upstream)
                return (try y.toArray(Float.self), try qkv.grad!.toArray(Float.self))
            }
            func splitHeads(_ x: Tensor) throws -> Tensor { try x.view([batch, length, heads, headDim]).transpose(1, 2) }
            let reference = try attention { try $0.matmul($1) }
            let perHead = try attention { try $0.headMatmul($1) }
            XCTAssertEqual(perHead.output, reference.output, "output, T \(length), W \(width)")
            XCTAssertEqual(perHead.grad, reference.grad, "gradient, T \(length), W \(width)")
        }
        // What it does not take runs matmul: bfloat16 under autocast, and broadcast batch dimensions.
        let a = try Tensor.randn([2, 3, 8, 16], generator: Generator(seed: 1))
        let b = try Tensor.randn([1, 3, 16, 8], generator: Generator(seed: 2))
        XCTAssertEqual(try withAutocast(.bfloat16) { try a.headMatmul(a.transpose(2, 3)) }.dtype, .bfloat16)
        XCTAssertEqual(try a.headMatmul(b).toArray(Float.self), try a.matmul(b).toArray(Float.self))
    }

    func testAutocastRunsMatmulInBFloat16() throws {
        let a = try Tensor.randn([4, 8], generator: Generator(seed: 1))
        let b = try Tensor.randn([8, 3], generator: Generator(seed: 2))
        let exact = try a.matmul(b)
        let cast = try withAutocast(.bfloat16) { try a.matmul(b) }
        XCTAssertEqual(cast.dtype, .bfloat16)
        XCTAssertEqual(try a.matmul(b).dtype, .float32, "autocast must end with its scope")
        let err = try (cast.to(.float32) - exact).abs().max().item()
        XCTAssertLessThan(err, 0.1)
    }

    func testAutocastOnCUDADoesNotTouchCPUOpsAndMetaIsAnError() throws {
        let a = try Tensor.randn([4, 8], generator: Generator(seed: 1))
        // CUDA autocast (a thread-local flag) leaves CPU tensors' ops in float32, as torch.autocast("cuda") does.
        XCTAssertEqual(try withAutocast(.bfloat16, on: .cuda(0)) { try a.matmul(a.transpose(0, 1)) }.dtype, .float32)
        XCTAssertThrowsError(try withAutocast(.bfloat16, on: .meta) { 0 }) { XCTAssertTrue("\($0)".contains("meta"), "\($0)") }
    }

    func testDropoutKeepsTheMean() throws {
        Torch.manualSeed(5)
        let x = try Tensor.ones([20000])
        let y = try x.dropout(0.5, training: true)
        let values = Set(try y.toArray(Float.self))
        XCTAssertEqual(values, [0, 2])
        XCTAssertEqual(try y.mean().item(), 1, accuracy: 0.03)
        XCTAssertTrue(try x.dropout(0.5, training: false) === x)
    }

    /// 10,000 create/matmul/backward iterations: resident memory must stay flat (freed in deinit).
    func testMemoryStaysFlatOverManyIterations() throws {
        func residentBytes() -> Int {
            let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
            return (Int(statm.split(separator: " ")[1]) ?? 0) * 4096
        }
        let w = try Tensor.randn([64, 64]).requiringGrad()
        func iterate(_ n: Int) throws {
            for _ in 0 ..< n {
                let x = try Tensor.randn([32, 64])
                let y = try x.matmul(w).tanh().sum()
                try y.backward()
                try w.zeroGrad()
            }
        }
        try iterate(1000)  // warm up allocator caches
        let before = residentBytes()
        try iterate(10_000)
        let growth = residentBytes() - before
        XCTAssertLessThan(growth, 8 << 20, "resident memory grew by \(growth >> 10) KiB over 10,000 iterations")
    }
}
