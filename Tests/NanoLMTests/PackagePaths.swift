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

/// Runs `binary` with `arguments` to its end, in this process's environment with `environment`'s variables
/// set (or, where nil, removed); (exit status, stdout, stderr).
func runProcess(_ binary: URL, _ arguments: [String], environment: [String: String?] = [:]) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    if !environment.isEmpty {
        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment { merged[name] = value }
        process.environment = merged
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}
