import ArgumentParser
import Foundation
import ScalingLaws

// What every command shares. The one rule for errors: a bad flag is a `ValidationError` (printed with the
// usage text); anything else — a bad input file, a failed run — is thrown as it is (the library's errors name
// the file, line and field) or as a ``CLIError``, printed as `Error: …` without usage, exit status 1.

/// A failure that is not a usage mistake: printed without the usage text, exit status 1.
public struct CLIError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A line of narration on standard error (standard output stays for results and `--json`).
public func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

/// Pretty, key-sorted JSON for `--json` output and result files.
public func encodeJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// The running binary (nanolm-torch for child runs and Slurm tasks; nanolm to find nanolm-torch beside it).
public func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// An `N:D` point (parameters and tokens, both positive).
func parsePair(_ s: String) throws -> (Double, Double) {
    let parts = s.split(separator: ":").compactMap { Double($0) }
    guard parts.count == 2, parts.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw ValidationError("'\(s)' is not N:D (two positive numbers)") }
    return (parts[0], parts[1])
}

/// A positive number: a parameter count or a loss.
func parsePositive(_ s: String, _ what: String) throws -> Double {
    guard let v = Double(s), v > 0, v.isFinite else { throw ValidationError("'\(s)' is not \(what)") }
    return v
}

// MARK: Options as enums

/// `--law`: which scaling law `nanolm fit` fits; recorded in a saved fit as "law".
enum LawOption: String, CaseIterable, Codable, ExpressibleByArgument {
    case mu, chinchilla, overtrain, downstream
}

extension BootstrapMethod: ExpressibleByArgument {}
