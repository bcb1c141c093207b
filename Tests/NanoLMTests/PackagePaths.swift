import Foundation
import XCTest

/// The package's root directory (this file is Tests/NanoLMTests/PackagePaths.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The nanolm binary `swift build` made beside this test binary (so `--scratch-path .build-torch2` tests
/// its own engine's build), or a skip when it is not built.
func builtNanolm() throws -> URL {
    let tests = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    let beside = tests.deletingLastPathComponent().appendingPathComponent("nanolm")
    let nanolm = tests.pathExtension == "xctest" ? beside : packageRoot.appendingPathComponent(".build/debug/nanolm")
    guard FileManager.default.isExecutableFile(atPath: nanolm.path) else { throw XCTSkip("\(nanolm.path) not built (swift build)") }
    return nanolm
}
