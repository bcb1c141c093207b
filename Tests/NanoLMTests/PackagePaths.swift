import Foundation
import XCTest

/// The package's root directory (this file is Tests/NanoLMTests/PackagePaths.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The nanolm binary `swift build` made, or a skip when it is not built.
func builtNanolm() throws -> URL {
    let nanolm = packageRoot.appendingPathComponent(".build/debug/nanolm")
    guard FileManager.default.isExecutableFile(atPath: nanolm.path) else { throw XCTSkip("\(nanolm.path) not built (swift build)") }
    return nanolm
}
