import XCTest
@testable import Torch

final class SmokeTests: XCTestCase {
    func testAddition() throws {
        let a = try Tensor([1, 2, 3] as [Float])
        let b = try a + a
        XCTAssertEqual(try b.toArray(Float.self), [2, 4, 6])
    }
}
