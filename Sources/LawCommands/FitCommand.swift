import ArgumentParser
import Foundation
import ScalingLaws

/// `nanolm fit`: one of four laws from a file of points, with predictions, intervals, a backtest and a bootstrap.
public struct FitCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit a scaling law (μScaling, Chinchilla, over-training, downstream) and predict with intervals.",
        discussion: """
            --input is CSV with a header or a JSON array of objects; the law's columns are read, others \
            ignored. --predict takes what the law's input is:
              mu          L = a·C^b + c; params,loss (C: raw parameter count incl.
                          embeddings); --predict 26.185e9; --sigma COLUMN weights
                          the points as curve_fit's sigma
              chinchilla  L = E + A/N^α + B/D^β; N,D,loss; Hoffmann et al.'s
                          Approach 3 (Huber on log L, 4,500 L-BFGS starts);
                          --predict N:D
              overtrain   L = E + (a·M^η + b·M^−η)·C^−η, C = 6ND, M = D/N
                          (Gadre et al.); N,D,loss; --predict N:D
              downstream  Err = ε − k·exp(−γ·L); loss,err; --predict a loss (the
                          prediction is err)

            Intervals: mu, overtrain and downstream give the delta-method interval from curve_fit's \
            covariance with Student's t on n − p degrees of freedom; chinchilla (a Huber fit, no \
            covariance) has intervals and standard errors only from --bootstrap. mu keeps c ≥ 0: when \
            c ends at 0 it is fixed there, not estimated ("c at its bound 0: fitted as a·C^b"), and the \
            covariance and p are those of a and b. --bootstrap N adds percentile intervals from N seeded \
            resamples for every law (mu: residuals by default, --resample pairs for points); refits \
            that fail count against the interval, which is reported unavailable when too many fail. An \
            interval that reaches below 0 is flagged: the points do not determine the loss there. \
            --holdout-largest K fits without the K largest points and predicts them: largest C (mu), \
            largest 6ND (chinchilla, overtrain), lowest loss (downstream); mu reports it even when the \
            fit on all points is refused.

            --json prints law, coefficients, fixed (coefficients held at a bound, no stderr), stderr, n, \
            rmse, predictions (loss, lower, upper; for downstream loss is the input and err the \
            prediction), backtest, bootstrap, warnings, and fitError when the fit on all points was \
            refused. Example:

              nanolm fit --law mu --input proxies.csv --predict 26.185e9 --holdout-largest 1
            """)
    @Option(help: "The law: mu, chinchilla, overtrain or downstream.") var law: LawOption = .mu
    @Option(help: "CSV or JSON file of points (columns params,loss | N,D,loss | loss,err).") var input: String
    @Option(parsing: .upToNextOption, help: "Where to predict: parameter counts (mu), N:D pairs (chinchilla, overtrain), losses (downstream).")
    var predict: [String] = []
    @Option(name: .customLong("holdout-largest"), help: "Backtest: fit without the K largest points and predict them.") var holdout = 0
    @Option(help: "Bootstrap resamples for percentile intervals (0: none).") var bootstrap = 0
    @Option(help: "Seed of the bootstrap's resampling.") var seed: UInt64 = 0
    @Option(help: "mu only: what --bootstrap resamples: residuals (the fitted curve plus resampled residuals, at the same sizes) or pairs (points).")
    var resample: BootstrapMethod = .residuals
    @Option(help: "Interval level.") var level = 0.95
    @Option(help: "mu only: a column of per-point standard deviations (curve_fit's sigma, absolute_sigma=False).") var sigma: String?
    @Option(help: "Write the fit as JSON, for `nanolm predict`.") var save: String?
    @Flag(help: "Print JSON.") var json = false
    @Option(help: .hidden) var benchmark = 0

    public init() {}

    public func run() throws {
        guard level > 0 && level < 1 else { throw ValidationError("--level must be between 0 and 1, got \(level)") }
        guard sigma == nil || law == .mu else { throw ValidationError("--sigma is for --law mu only") }
        let report: FitReport
        switch law {
        case .mu: guard let r = try fitMu() else { return }; report = r
        case .chinchilla: report = try fitChinchillaLaw()
        case .overtrain: report = try fitOverTrainingLaw()
        case .downstream: report = try fitDownstreamLaw()
        }
        if json { print(try encodeJSON(report)) } else { report.printTable(input: input) }
    }

    /// The law's columns from --input; a bad file is an error naming file, line and column.
    func readColumns(_ names: [String]) throws -> [[Double]] {
        do {
            let rows = try PointsFile.read(URL(fileURLWithPath: input), columns: names)
            return names.indices.map { j in rows.map { $0[j] } }
        } catch { throw CLIError(error.localizedDescription) }
    }

    /// Runs a fit (or backtest), turning a law's error into `error: FILE: reason` and exit code 1.
    func fitting<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as ScalingLawError { throw CLIError("\(input): \(error.localizedDescription)") }
    }

    /// The fit (saved with --save), its backtest when --holdout-largest is set, its bootstrap when --bootstrap is.
    func fitAll<F: Encodable, B>(fit: () throws -> F, backtest: () throws -> [B], bootstrap resample: (F) -> BootstrapSummary) throws
        -> (fit: F, held: [B], boot: BootstrapSummary?) {
        let f = try fitting(fit)
        let held = holdout > 0 ? try fitting(backtest) : []
        try saveFit(f)
        return (f, held, bootstrap > 0 ? resample(f) : nil)
    }

    /// `--save FILE`: the fit as JSON, with its law in "law" (what `nanolm predict` reads it as).
    func saveFit<T: Encodable>(_ fit: T) throws {
        guard let save else { return }
        let encoded = try JSONEncoder().encode(fit)
        guard var object = try JSONSerialization.jsonObject(with: encoded) as? [String: Any] else {
            throw CLIError("internal: the \(law.rawValue) fit does not encode as a JSON object")
        }
        object["law"] = law.rawValue
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: save), options: .atomic)
    }

    /// Prediction rows: the value, the interval (delta method, or the bootstrap when there is none), and the
    /// bootstrap's interval when one was run. `boot` holds the coefficients first, then the predictions.
    func rows(_ inputs: [[(String, Double)]], predicted: String, values: [Double], delta: [(lower: Double, upper: Double)]?,
              boot: BootstrapSummary?, coefficientCount: Int) -> [FitRow] {
        inputs.indices.map { i in
            var v: [(String, Double?)] = [(predicted, values[i])]
            let bl = boot.flatMap { $0.isAvailable ? $0.lower[coefficientCount + i] : nil }
            let bu = boot.flatMap { $0.isAvailable ? $0.upper[coefficientCount + i] : nil }
            v += [("lower", delta?[i].lower ?? bl), ("upper", delta?[i].upper ?? bu)]
            if boot != nil { v += [("bootstrapLower", bl), ("bootstrapUpper", bu)] }
            return FitRow(inputs: inputs[i], values: v)
        }
    }

    /// Backtest rows: the held-out point's inputs, measured and predicted values.
    func backtestRows(_ points: [HeldOutPoint], inputs: (Int) -> [(String, Double)]) -> [FitRow] {
        points.map { FitRow(inputs: inputs($0.index), values: [("actual", $0.actual), ("predicted", $0.predicted), ("relativeError", $0.relativeError)]) }
    }

    func bootstrapInfo(_ b: BootstrapSummary?, method: BootstrapMethod = .pairs) -> FitReport.BootstrapInfo? {
        b.map { .init(resamples: bootstrap, used: $0.used, failed: $0.failed, seed: seed, method: method, unavailable: $0.unavailable) }
    }

    func bootstrapWarnings(_ b: BootstrapSummary?) -> [String] { b?.unavailable.map { ["bootstrap unavailable: \($0)"] } ?? [] }

    /// Warnings for intervals of a loss that reach below 0.
    func lossCaveats(_ rows: [FitRow]) -> [String] {
        rows.flatMap { r in
            [("lower", "upper"), ("bootstrapLower", "bootstrapUpper")].compactMap { lo, hi -> String? in
                guard let l = r[lo], let u = r[hi], let why = MuScalingFit.caveat(lower: l, upper: u) else { return nil }
                return "\(r.inputText)\(lo == "lower" ? "" : " (bootstrap)"): \(why)"
            }
        }
    }
}

extension FitCommand {
    /// μScaling; nil when --benchmark printed its timing instead.
    func fitMu() throws -> FitReport? {
        let columns = try readColumns(["params", "loss"] + (sigma.map { [$0] } ?? []))
        let (sizes, losses, sd) = (columns[0], columns[1], sigma == nil ? nil : columns[2])
        let targets = try predict.map { try parsePositive($0, "a parameter count") }
        if benchmark > 0 {  // bench/fit_speed.sh: seconds per μScaling fit, averaged over `benchmark` fits
            let start = Date()
            for _ in 0..<benchmark { _ = try fitting { try fitMuScaling(parameters: sizes, losses: losses, sigma: sd) } }
            print(String(format: "{\"seconds_per_fit\": %.9f, \"fits\": %d, \"points\": %d}", Date().timeIntervalSince(start) / Double(benchmark), benchmark, sizes.count))
            return nil
        }
        let title = "μScaling L = a·C^b + c (C in raw parameters\(sigma.map { "; weighted by sigma column \($0)" } ?? ""))"
        let backtestRows = { (held: [BacktestPoint]) in
            held.map { FitRow(inputs: [("params", $0.parameters)], values: [("actual", $0.actual), ("predicted", $0.predicted), ("relativeError", $0.relativeError)]) }
        }
        // A backtest fits the kept points only: report it even when the fit on all of them is refused.
        if holdout > 0, case let .failure(error) = Result(catching: { try fitMuScaling(parameters: sizes, losses: losses, sigma: sd) }) {
            let held = try fitting { try backtestMuScaling(parameters: sizes, losses: losses, sigma: sd, holdOutLargest: holdout) }
            let report = FitReport(law: .mu, title: title, coefficients: [:], stderr: [:], n: sizes.count, rmse: nil, interval: "none",
                                   predictions: [], backtest: backtestRows(held), bootstrap: nil, extra: [:], fitError: error.localizedDescription)
            if json { print(try encodeJSON(report)) } else { report.printTable(input: input) }
            throw CLIError("\(input): \(error.localizedDescription) (the backtest above fitted the kept points only)")
        }
        let (fit, held, boot) = try fitAll(
            fit: { try fitMuScaling(parameters: sizes, losses: losses, sigma: sd) },
            backtest: { try backtestMuScaling(parameters: sizes, losses: losses, sigma: sd, holdOutLargest: holdout) },
            bootstrap: { _ in bootstrapMuScaling(parameters: sizes, losses: losses, sigma: sd, at: targets, resamples: bootstrap, level: level,
                                                 seed: seed, method: resample) })
        // A coefficient at its bound is fixed there: it has no standard deviation to print.
        var stderr = ["a": fit.standardDeviations[0], "b": fit.standardDeviations[1], "a_per_billion": fit.aStandardDeviation(perUnit: 1e9)]
        stderr["c"] = fit.standardDeviation(of: 2)
        let predictions = rows(targets.map { [("params", $0)] }, predicted: "loss", values: targets.map(fit.loss(at:)),
                               delta: targets.map { fit.interval(at: $0, level: level) }, boot: boot, coefficientCount: 3)
        return FitReport(
            law: .mu, title: fit.cAtBound ? title + "; c at its bound 0: fitted as a·C^b" : title,
            coefficients: ["a": fit.a, "b": fit.b, "a_per_billion": fit.a(perUnit: 1e9)].merging(fit.cAtBound ? [:] : ["c": fit.c]) { $1 },
            stderr: stderr, n: fit.n, rmse: fit.rmse,
            interval: "delta method, t on n − \(fit.freeCoefficientCount)" + (fit.cAtBound ? " (c fixed: the covariance of a and b)" : ""),
            predictions: predictions, backtest: backtestRows(held), bootstrap: bootstrapInfo(boot, method: resample), extra: [:],
            fixed: fit.cAtBound ? ["c": fit.c] : [:], warnings: lossCaveats(predictions) + bootstrapWarnings(boot))
    }

    /// Chinchilla's Approach 3: no covariance, so standard errors and intervals come from the bootstrap.
    func fitChinchillaLaw() throws -> FitReport {
        let c = try readColumns(["N", "D", "loss"])
        let targets = try predict.map(parsePair)
        let (fit, held, boot) = try fitAll(
            fit: { try fitChinchilla(parameters: c[0], tokens: c[1], losses: c[2]) },
            backtest: { try backtestChinchilla(parameters: c[0], tokens: c[1], losses: c[2], holdOutLargest: holdout) },
            bootstrap: { bootstrapChinchilla(parameters: c[0], tokens: c[1], losses: c[2], fit: $0, at: targets, resamples: bootstrap, level: level, seed: seed) })
        let names = ["E", "A", "B", "alpha", "beta"]
        let stderr = boot.map { b in b.isAvailable ? Dictionary(uniqueKeysWithValues: zip(names, b.standardDeviations)) : [:] } ?? [:]
        return FitReport(
            law: .chinchilla, title: "Chinchilla L = E + A/N^α + B/D^β (Huber δ 1e-3 on log L, L-BFGS, \(chinchillaStarts().count) starts, \(fit.starts) converged)",
            coefficients: Dictionary(uniqueKeysWithValues: zip(names, fit.coefficients)), stderr: stderr,
            n: fit.n, rmse: rmse(c[2], c[2].indices.map { fit.loss(parameters: c[0][$0], tokens: c[1][$0]) }),
            interval: boot == nil ? "none (Huber fit: no covariance; use --bootstrap)" : "bootstrap percentiles (stderr: bootstrap sd)",
            predictions: rows(targets.map { [("N", $0.0), ("D", $0.1)] }, predicted: "loss", values: targets.map { fit.loss(parameters: $0.0, tokens: $0.1) },
                              delta: nil, boot: boot, coefficientCount: 5),
            backtest: backtestRows(held) { [("N", c[0][$0]), ("D", c[1][$0])] },
            bootstrap: bootstrapInfo(boot), extra: ["objective": fit.objective], warnings: bootstrapWarnings(boot))
    }

    /// Gadre et al.'s over-training law L(C, M).
    func fitOverTrainingLaw() throws -> FitReport {
        let c = try readColumns(["N", "D", "loss"])
        let targets = try predict.map(parsePair)
        let (fit, held, boot) = try fitAll(
            fit: { try fitOverTraining(parameters: c[0], tokens: c[1], losses: c[2]) },
            backtest: { try backtestOverTraining(parameters: c[0], tokens: c[1], losses: c[2], holdOutLargest: holdout) },
            bootstrap: { _ in bootstrapOverTraining(parameters: c[0], tokens: c[1], losses: c[2], at: targets, resamples: bootstrap, level: level, seed: seed) })
        let names = ["E", "a", "b", "eta"]
        return FitReport(
            law: .overtrain, title: "over-training L = E + (a·M^η + b·M^−η)·C^−η (C = 6ND, M = D/N)",
            coefficients: Dictionary(uniqueKeysWithValues: zip(names, fit.coefficients)),
            stderr: Dictionary(uniqueKeysWithValues: zip(names, fit.standardDeviations)),
            n: fit.n, rmse: fit.rmse, interval: "delta method, t on n − 4",
            predictions: rows(targets.map { [("N", $0.0), ("D", $0.1), ("M", $0.1 / $0.0)] }, predicted: "loss",
                              values: targets.map { fit.loss(parameters: $0.0, tokens: $0.1) },
                              delta: targets.map { fit.interval(at: $0, level: level) }, boot: boot, coefficientCount: 4),
            backtest: backtestRows(held) { [("N", c[0][$0]), ("D", c[1][$0])] },
            bootstrap: bootstrapInfo(boot), extra: ["residualStandardError": fit.residualStandardError], warnings: bootstrapWarnings(boot))
    }

    /// Downstream error Err(L).
    func fitDownstreamLaw() throws -> FitReport {
        let c = try readColumns(["loss", "err"])
        let targets = try predict.map { try parsePositive($0, "a loss") }
        let (fit, held, boot) = try fitAll(
            fit: { try fitDownstream(losses: c[0], errors: c[1]) },
            backtest: { try backtestDownstream(losses: c[0], errors: c[1], holdOutLargest: holdout) },
            bootstrap: { _ in bootstrapDownstream(losses: c[0], errors: c[1], at: targets, resamples: bootstrap, level: level, seed: seed) })
        let names = ["epsilon", "k", "gamma"]
        return FitReport(
            law: .downstream, title: "downstream Err = ε − k·exp(−γ·L)",
            coefficients: Dictionary(uniqueKeysWithValues: zip(names, fit.coefficients)),
            stderr: Dictionary(uniqueKeysWithValues: zip(names, fit.standardDeviations)),
            n: fit.n, rmse: fit.rmse, interval: "delta method, t on n − 3",
            predictions: rows(targets.map { [("loss", $0)] }, predicted: "err", values: targets.map(fit.error(atLoss:)),
                              delta: targets.map { fit.interval(at: $0, level: level) }, boot: boot, coefficientCount: 3),
            backtest: backtestRows(held) { [("loss", c[0][$0])] },
            bootstrap: bootstrapInfo(boot), extra: [:], warnings: bootstrapWarnings(boot))
    }

    func rmse(_ actual: [Double], _ predicted: [Double]) -> Double {
        (zip(actual, predicted).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(actual.count)).squareRoot()
    }
}

/// What `nanolm fit` prints, the same for every law (`--json` encodes it).
struct FitReport: Encodable {
    struct BootstrapInfo: Encodable {
        var resamples: Int; var used: Int; var failed: Int; var seed: UInt64
        var method: BootstrapMethod
        /// Why there is no bootstrap interval (too many refits failed), or nil.
        var unavailable: String?
    }
    var law: LawOption
    var title: String
    var coefficients: [String: Double]
    /// Standard deviations of the coefficients (empty for chinchilla without --bootstrap); none for a fixed one.
    var stderr: [String: Double]
    var n: Int
    /// nil when the fit on all points was refused (`fitError`).
    var rmse: Double?
    /// How `lower` and `upper` of the predictions were made.
    var interval: String
    var predictions: [FitRow]
    var backtest: [FitRow]
    var bootstrap: BootstrapInfo?
    /// Law-specific numbers (chinchilla: the Huber objective; overtrain: the residual standard error).
    var extra: [String: Double]
    /// Coefficients held at a bound (mu: c at 0): not estimated, so no stderr.
    var fixed: [String: Double] = [:]
    /// What the numbers above should not be read as (an interval below 0, an unavailable bootstrap).
    var warnings: [String] = []
    /// Why the fit on all points was refused (the backtest, fitted on the kept points, is still reported).
    var fitError: String? = nil

    func printTable(input: String) {
        print("\(title) on \(n) points from \(input)")
        if let fitError { print("  fit on all points refused: \(fitError)") }
        for (k, v) in coefficients.sorted(by: { $0.key < $1.key }) {
            print("  " + k.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%12.6g", v) + (stderr[k].map { String(format: " ± %.3g", $0) } ?? ""))
        }
        for (k, v) in fixed.sorted(by: { $0.key < $1.key }) {
            print("  " + k.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%12.6g", v) + " (at its bound: fixed, not estimated)")
        }
        if let rmse { print(String(format: "  rmse %.3g", rmse) + extra.sorted { $0.key < $1.key }.map { String(format: ", %@ %.4g", $0.key, $0.value) }.joined()) }
        for r in backtest {
            print("  backtest \(r.inputText): " + String(format: "predicted %.4f, actual %.4f (%+.2f%%)", r["predicted"]!, r["actual"]!, 100 * r["relativeError"]!))
        }
        if !predictions.isEmpty { print("  intervals: \(interval)") }
        for r in predictions {
            let (name, value) = r.values[0]
            var line = "  predict \(r.inputText): \(name) " + String(format: "%.4f", value ?? .nan)
            if let lo = r["lower"], let hi = r["upper"] { line += String(format: " [%.4f, %.4f]", lo, hi) }
            if let lo = r["bootstrapLower"], let hi = r["bootstrapUpper"] { line += String(format: "  bootstrap [%.4f, %.4f]", lo, hi) }
            print(line)
        }
        if let b = bootstrap {
            print("  bootstrap (\(b.method.rawValue)): \(b.used) of \(b.resamples) resamples refitted (\(b.failed) failed), seed \(b.seed)")
        }
        for w in warnings { print("  warning: \(w)") }
    }
}

/// One prediction or backtest point: the law's inputs (params; N, D; loss) and values, flat in JSON. A value
/// that could not be computed (no interval) is `null`, not missing.
struct FitRow: Encodable {
    var inputs: [(String, Double)]
    var values: [(String, Double?)]

    subscript(key: String) -> Double? { values.first { $0.0 == key }?.1 ?? nil }
    var inputText: String { inputs.map { String(format: "%@ %.4g", $0.0, $0.1) }.joined(separator: ", ") }

    struct Key: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (k, v) in inputs { try c.encode(v, forKey: Key(stringValue: k)) }
        for (k, v) in values {
            if let v { try c.encode(v, forKey: Key(stringValue: k)) } else { try c.encodeNil(forKey: Key(stringValue: k)) }
        }
    }
}

