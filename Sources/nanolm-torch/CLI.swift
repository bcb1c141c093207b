import ArgumentParser
import Foundation
import NanoLM
import ScalingLaws

// What every command shares. The one rule for errors: a bad flag is a `ValidationError` (printed with the
// usage text); anything else — a bad input file, a failed run — is thrown as it is (the library's errors name
// the file, line and field) or as a ``CLIError``, printed as `Error: …` without usage, exit status 1.

/// A failure that is not a usage mistake: printed without the usage text, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A line of narration on standard error (standard output stays for results and `--json`).
func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

/// Pretty, key-sorted JSON for `--json` output and result files.
func encodeJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// The running nanolm binary, for child processes and Slurm tasks.
func selfExecutable() -> String {
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

/// `--param`: μP or the standard parametrization ("μp" and "standard" are accepted too).
enum ParametrizationOption: String, CaseIterable, ExpressibleByArgument {
    case mup, sp

    init?(argument: String) {
        switch argument.lowercased() {
        case "mup", "μp": self = .mup
        case "sp", "standard": self = .sp
        default: return nil
        }
    }

    var kind: Parametrization.Kind { self == .mup ? .muP : .standard }
    func parametrization(baseWidth: Int) -> Parametrization { self == .mup ? .muP(baseWidth: baseWidth) : .standard }
}

/// `--law`: which scaling law `nanolm fit` fits; recorded in a saved fit as "law".
enum LawOption: String, CaseIterable, Codable, ExpressibleByArgument {
    case mu, chinchilla, overtrain, downstream
}

/// `--executor`: where a study's runs train.
enum ExecutorOption: String, CaseIterable, ExpressibleByArgument {
    /// This machine: in this process, or `--jobs N` child processes.
    case local
    /// One Slurm job array per phase, via sbatch.
    case slurm
}

/// `--jobs`: N or auto.
extension JobCount: ExpressibleByArgument {}

extension Architecture: ExpressibleByArgument {}
extension Schedule.Decay: ExpressibleByArgument {}
extension AdamW.Rule: ExpressibleByArgument {}
extension TaskFormat: ExpressibleByArgument {}
extension ChoiceMetric: ExpressibleByArgument {}
extension PreTokenizer: ExpressibleByArgument {}
extension BootstrapMethod: ExpressibleByArgument {}
