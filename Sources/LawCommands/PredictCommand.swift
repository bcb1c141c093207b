import ArgumentParser
import Foundation
import ScalingLaws

/// `nanolm predict`: a fit saved by `nanolm fit --save`, at other points.
public struct PredictCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict from a fit saved by `nanolm fit --save` (any law).",
        discussion: """
            The law is the file's "law" field. Points are what the law takes: parameter counts (mu), \
            N:D pairs (chinchilla, overtrain) or losses (downstream, which predicts err). Intervals are \
            the delta method's (t on n − p); a saved chinchilla fit has none (rerun `nanolm fit \
            --bootstrap`). Example: nanolm predict --fit fit.json 26.185e9 52.385e9
            """)
    @Option(help: "The fit JSON (from `nanolm fit --save`).") var fit: String
    @Argument(help: "Parameter counts, N:D pairs or losses, as the law takes.") var points: [String]
    @Option(help: "Interval level.") var level = 0.95
    @Flag(help: "Print JSON.") var json = false

    public init() {}

    public func run() throws {
        guard level > 0 && level < 1 else { throw ValidationError("--level must be between 0 and 1, got \(level)") }
        guard let data = FileManager.default.contents(atPath: fit) else { throw CLIError("\(fit): cannot read the file") }
        let law: LawOption
        do { law = try JSONDecoder().decode(SavedLaw.self, from: data).law } catch {
            throw CLIError("\(fit): not a fit saved by `nanolm fit --save` (no 'law' field naming mu, chinchilla, overtrain or downstream; "
                           + "fits saved before nanolm recorded the law: save them again)")
        }
        let rows: [FitRow]
        var notes: [String] = []
        switch law {
        case .mu:
            let f = try decodeFit(MuScalingFit.self, data, law: law)
            if f.cAtBound { notes.append("c at its bound 0: fitted as a·C^b (t on n − 2)") }
            rows = try points.map { try parsePositive($0, "a parameter count") }.map { c in
                row([("params", c)], "loss", f.loss(at: c), f.interval(at: c, level: level))
            }
            notes += rows.compactMap { r in MuScalingFit.caveat(lower: r["lower"] ?? .nan, upper: r["upper"] ?? .nan).map { "\(r.inputText): \($0)" } }
        case .overtrain:
            let f = try decodeFit(OverTrainingFit.self, data, law: law)
            rows = try points.map(parsePair).map { n, d in
                row([("N", n), ("D", d), ("M", d / n)], "loss", f.loss(parameters: n, tokens: d), f.interval(at: (n, d), level: level))
            }
        case .downstream:
            let f = try decodeFit(DownstreamFit.self, data, law: law)
            rows = try points.map { try parsePositive($0, "a loss") }.map { l in
                row([("loss", l)], "err", f.error(atLoss: l), f.interval(at: l, level: level))
            }
        case .chinchilla:
            let f = try decodeFit(ChinchillaFit.self, data, law: law)
            rows = try points.map(parsePair).map { n, d in row([("N", n), ("D", d)], "loss", f.loss(parameters: n, tokens: d), nil) }
        }
        if json {
            print(try encodeJSON(rows))
        } else {
            for r in rows {
                let (name, value) = r.values[0]
                var line = "\(r.inputText): \(name) " + String(format: "%.4f", value ?? .nan)
                if let lo = r["lower"], let hi = r["upper"] { line += String(format: " [%.4f, %.4f]", lo, hi) }
                print(line)
            }
            for n in notes { print("note: \(n)") }
        }
    }

    /// The saved fit of `law`; a field that does not read, or a wrong shape (which used to trap later), is an
    /// error naming it.
    func decodeFit<T: Decodable>(_ type: T.Type, _ data: Data, law: LawOption) throws -> T {
        let value: T
        do { value = try JSONDecoder().decode(type, from: data) } catch let DecodingError.dataCorrupted(c) where !c.codingPath.isEmpty {
            throw CLIError("\(fit): field '\(c.codingPath.map(\.stringValue).joined(separator: "."))': \(c.debugDescription)")
        } catch {
            throw CLIError("\(fit): a \(law.rawValue) fit, but its coefficients do not read: \(error)")
        }
        if let fitted = value as? any LeastSquaresLaw, let problem = fitted.shapeProblem { throw CLIError("\(fit): \(problem)") }
        return value
    }

    func row(_ inputs: [(String, Double)], _ name: String, _ value: Double, _ interval: (lower: Double, upper: Double)?) -> FitRow {
        FitRow(inputs: inputs, values: [(name, value), ("lower", interval?.lower), ("upper", interval?.upper)])
    }
}

/// The "law" field of a saved fit.
struct SavedLaw: Decodable { var law: LawOption }
