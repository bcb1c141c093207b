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
