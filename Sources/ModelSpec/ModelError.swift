import Foundation

/// Errors building or loading a model.
public enum ModelError: Error, CustomStringConvertible {
    case stateDictMismatch(source: String, missing: [String], unexpected: [String])
    case shapeMismatch(source: String, name: String, expected: [Int], found: [Int])
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case let .stateDictMismatch(source, missing, unexpected):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? " (+\(missing.count - 5) more)" : "")") }
            if !unexpected.isEmpty { parts.append("unexpected \(unexpected.prefix(5).joined(separator: ", "))\(unexpected.count > 5 ? " (+\(unexpected.count - 5) more)" : "")") }
            return "\(source): parameters do not match the model: \(parts.joined(separator: "; ")). Was it saved from a model of another architecture or size?"
        case let .shapeMismatch(source, name, expected, found):
            return "\(source): \(name) has shape \(found), the model expects \(expected). Check width, layers and vocabulary."
        case let .invalidConfiguration(message):
            return "invalid configuration: \(message)"
        }
    }
}
