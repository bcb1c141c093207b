import Foundation

/// Why a fit could not be made or trusted. Messages say what to do next.
public enum ScalingLawError: Error, LocalizedError, Equatable {
    /// Fewer points than the law has coefficients (plus one, for a standard error).
    case tooFewPoints(law: String, needed: Int, got: Int)
    /// A size or loss that is not finite and positive, at `index` (0-based) of the input.
    case invalidValue(what: String, index: Int, value: Double)
    /// The optimum is not a usable law (e.g. b ≥ 0 on decreasing data, or a non-finite covariance).
    case degenerate(law: String, reason: String)
    /// Bad input file content (file, line, column).
    case badInput(file: String, line: Int, column: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .tooFewPoints(law, needed, got):
            return "\(law) fit needs at least \(needed) points, got \(got): train more proxies (widths) before fitting"
        case let .invalidValue(what, index, value):
            return "\(what) #\(index + 1) is \(value): sizes and losses must be finite and positive"
        case let .degenerate(law, reason):
            return "\(law) fit is degenerate: \(reason). Check that the losses fall with size, or add points"
        case let .badInput(file, line, column, reason):
            return "\(file):\(line): column '\(column)': \(reason)"
        }
    }
}

/// Checks that a law's columns have equal lengths, enough points, and finite positive values.
func checkColumns(law: String, minimumPoints: Int, _ columns: [(name: String, values: [Double])]) throws {
    guard Set(columns.map(\.values.count)).count == 1 else {
        throw ScalingLawError.degenerate(law: law, reason: "columns of different lengths")
    }
    let count = columns[0].values.count
    guard count >= minimumPoints else { throw ScalingLawError.tooFewPoints(law: law, needed: minimumPoints, got: count) }
    for (name, values) in columns {
        for (i, v) in values.enumerated() where !(v.isFinite && v > 0) { throw ScalingLawError.invalidValue(what: name, index: i, value: v) }
    }
}
