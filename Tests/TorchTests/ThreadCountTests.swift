import Foundation
import XCTest
import Torch

/// `Torch.threadCount` reaches OpenBLAS as well as libtorch's OpenMP pool: Debian's libtorch runs its GEMMs
/// in OpenBLAS, whose threads at::set_num_threads leaves at one per core (docs/BENCHMARKS.md, "Runs side by
/// side"). An engine without OpenBLAS (torch 2.x from PyPI: MKL) skips the test.
final class ThreadCountTests: XCTestCase {
    func testThreadCountSetsOpenBLASThreads() throws {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "openblas_get_num_threads") else {  // RTLD_DEFAULT
            throw XCTSkip("this libtorch does not use OpenBLAS")
        }
        let openBLASThreads = unsafeBitCast(symbol, to: (@convention(c) () -> Int32).self)
        let before = Torch.threadCount
        defer { Torch.threadCount = before }
        Torch.threadCount = 1
        XCTAssertEqual(Torch.threadCount, 1)
        XCTAssertEqual(openBLASThreads(), 1)
        Torch.threadCount = 2
        XCTAssertEqual(openBLASThreads(), 2)
    }
}

/// oneDNN's GEMMs (``Torch/useOneDNNGEMM(_:)``, the default under Debian's libtorch; `NANOLM_GEMM=openblas`
/// turns them off): on from the start, libtorch's fp32 GEMMs reach nanolm's sgemm_ and are answered by oneDNN —
/// a linear layer's three products (forward, input and weight gradient, each layout BLAS is asked for), and
/// one above 10^8 multiply-adds that runs on two threads, counted, and each equal to OpenBLAS's within fp32
/// rounding (relative 1e-5 of the products' scale). Turned off, OpenBLAS answers, and counts nothing. An
/// engine without OpenBLAS (torch 2.x from PyPI: MKL inside libtorch) skips the test.
final class OneDNNGEMMTests: XCTestCase {
    func testOneDNNAnswersLibtorchsGEMMsWithinRounding() throws {
        guard dlsym(UnsafeMutableRawPointer(bitPattern: 0), "openblas_get_num_threads") != nil else {
            XCTAssertFalse(Torch.usesOneDNNGEMM, "no OpenBLAS to stand in front of: oneDNN stays off")
            throw XCTSkip("this libtorch does not use OpenBLAS")
        }
        XCTAssertTrue(Torch.usesOneDNNGEMM, "oneDNN answers from the start")
        let x = try Tensor.randn([2048, 64], generator: Generator(seed: 1))     // [T, in]
        let w = try Tensor.randn([192, 64], generator: Generator(seed: 2))      // [out, in]
        let g = try Tensor.randn([2048, 192], generator: Generator(seed: 3))    // [T, out]
        let big = try Tensor.randn([2048, 256], generator: Generator(seed: 4))   // [T, in]
        let bigW = try Tensor.randn([512, 256], generator: Generator(seed: 5))   // [out, in]: 2048·512·256 ≈ 2.7e8 multiply-adds
        let threads = Torch.threadCount
        Torch.threadCount = 2
        defer { Torch.threadCount = threads }
        func products() throws -> [[Float]] {
            try [x.matmul(w.transpose(0, 1)), g.matmul(w), g.transpose(0, 1).matmul(x), big.matmul(bigW.transpose(0, 1))]
                .map { try $0.toArray(Float.self) }
        }
        let before = Torch.oneDNNGEMMCalls
        let oneDNN = try products()
        XCTAssertEqual(Torch.oneDNNGEMMCalls - before, 4, "each product one oneDNN sgemm")
        Torch.useOneDNNGEMM(false)
        defer { Torch.useOneDNNGEMM(true) }
        XCTAssertFalse(Torch.usesOneDNNGEMM)
        let openBLAS = try products()
        XCTAssertEqual(Torch.oneDNNGEMMCalls - before, 4, "OpenBLAS answered")
        for (a, b) in zip(oneDNN, openBLAS) {
            let scale = b.map(abs).max() ?? 1
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5 * scale, "oneDNN against OpenBLAS")
        }
        XCTAssertTrue(Torch.useOneDNNGEMM(true))
        XCTAssertEqual(try products(), oneDNN, "bit for bit again")
    }
}
