import ArgumentParser
import Foundation
import ScalingLaws

/// `nanolm fit`: the μScaling law from a file of (params, loss) points, with predictions, a backtest and a bootstrap.
struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit the μScaling law L = a·C^b + c to proxies' losses and predict larger sizes.",
        discussion: """
            --input is CSV with a header (columns params,loss; others ignored) or a JSON array of objects \
            with those keys. C is the parameter count including embeddings, in raw parameters. Example:

              nanolm fit --law mu --input proxies.csv --predict 26.185e9 --holdout-largest 1 --save fit.json

            --law chinchilla fits L = E + A/N^α + B/D^β to columns N,D,loss as Hoffmann et al. (Approach 3):             Huber loss (δ 1e-3) on log L, L-BFGS from 4,500 starts; --predict takes N:D pairs.
            --law overtrain fits Gadre et al.'s L = E + (a·M^η + b·M^−η)·C^−η (C = 6ND, M = D/N) to N,D,loss;             --predict takes N:D pairs. --law downstream fits Err = ε − k·exp(−γ·L) to loss,err; --predict takes losses.
            """)
    @Option(help: "The law: mu (L = a·C^b + c) or chinchilla (L = E + A/N^α + B/D^β).") var law = "mu"
    @Option(help: "CSV or JSON file of points (columns params,loss for mu; N,D,loss for chinchilla).") var input: String
    @Option(parsing: .upToNextOption, help: "Where to predict: parameter counts (mu) or N:D pairs (chinchilla).") var predict: [String] = []
    @Option(name: .customLong("holdout-largest"), help: "Backtest: fit without the K largest points and predict them.") var holdout = 0
    @Option(help: "Bootstrap resamples for an interval of each prediction (0: none).") var bootstrap = 0
    @Option(help: "Interval level.") var level = 0.95
    @Option(help: "Write the fit as JSON, for `nanolm predict`.") var save: String?
    @Flag(help: "Print JSON.") var json = false
    @Option(help: .hidden) var benchmark = 0

    func run() throws {
        if law == "chinchilla" { return try runChinchilla() }
        if law == "overtrain" || law == "downstream" { return try runGadre() }
        guard law == "mu" else { throw ValidationError("--law must be mu, chinchilla, overtrain or downstream, got '\(law)'") }
        let predict = try self.predict.map { s -> Double in
            guard let v = Double(s), v > 0 else { throw ValidationError("--predict: '\(s)' is not a parameter count") }
            return v
        }
        let points: [[Double]]
        do { points = try PointsFile.read(URL(fileURLWithPath: input), columns: ["params", "loss"]) } catch {
            throw fail(error.localizedDescription)
        }
        let sizes = points.map { $0[0] }, losses = points.map { $0[1] }
        let fit: MuScalingFit
        let backtest: [BacktestPoint]
        do {
            fit = try fitMuScaling(parameters: sizes, losses: losses)
            backtest = holdout > 0 ? try backtestMuScaling(parameters: sizes, losses: losses, holdOutLargest: holdout) : []
        } catch { throw fail("\(input): \(error.localizedDescription)") }
        try saveFit(fit)
        if benchmark > 0 {  // bench/fit_speed.sh: seconds per μScaling fit, averaged over `benchmark` fits
            let start = Date()
            for _ in 0..<benchmark { _ = try fitMuScaling(parameters: sizes, losses: losses) }
            print(String(format: "{\"seconds_per_fit\": %.9f, \"fits\": %d, \"points\": %d}", Date().timeIntervalSince(start) / Double(benchmark), benchmark, sizes.count))
            return
        }
        let predictions = predict.map { c -> FitPrediction in
            let (lo, hi) = fit.interval(at: c, level: level)
            let boot = bootstrap > 0 ? bootstrapMuScaling(parameters: sizes, losses: losses, at: c, resamples: bootstrap, level: level) : nil
            return FitPrediction(params: c, loss: fit.loss(at: c), lower: lo, upper: hi,
                                 bootstrapLower: boot?.lower, bootstrapUpper: boot?.upper, bootstrapFailed: boot?.failed)
        }
        if json {
            let out = FitOutput(law: "mu", coefficients: ["a": fit.a, "b": fit.b, "c": fit.c, "a_per_billion": fit.a(perUnit: 1e9)],
                                stderr: ["a": fit.standardDeviations[0], "b": fit.standardDeviations[1], "c": fit.standardDeviations[2],
                                         "a_per_billion": fit.aStandardDeviation(perUnit: 1e9)],
                                n: fit.n, rmse: fit.rmse, predictions: predictions, backtest: backtest)
            print(try encodeJSON(out))
            return
        }
        print("μScaling fit L = a·C^b + c on \(fit.n) points from \(input) (C in raw parameters)")
        print(String(format: "  a = %.6g ± %.3g   (C in billions: %.6g ± %.3g)", fit.a, fit.standardDeviations[0], fit.a(perUnit: 1e9), fit.aStandardDeviation(perUnit: 1e9)))
        print(String(format: "  b = %.6f ± %.3g", fit.b, fit.standardDeviations[1]))
        print(String(format: "  c = %.6f ± %.3g", fit.c, fit.standardDeviations[2]))
        print(String(format: "  rmse %.3g", fit.rmse))
        for p in backtest {
            print(String(format: "  backtest: %.4g params: predicted %.4f, actual %.4f (%+.2f%%)", p.parameters, p.predicted, p.actual, 100 * p.relativeError))
        }
        for p in predictions {
            var line = String(format: "  predict %.4g params: %.4f [%.4f, %.4f]", p.params, p.loss, p.lower, p.upper)
            if let lo = p.bootstrapLower, let hi = p.bootstrapUpper { line += String(format: "  bootstrap [%.4f, %.4f]", lo, hi) }
            print(line)
        }
    }
}

/// Prints `error: message` to standard error and returns the failure exit code to throw (no usage text:
/// the input is wrong, not the command line).
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode.failure
}

extension Fit {
    /// `--save FILE`: the fit as JSON, for `nanolm predict`.
    func saveFit<T: Encodable>(_ fit: T) throws {
        if let save { try JSONEncoder().encode(fit).write(to: URL(fileURLWithPath: save), options: .atomic) }
    }

    /// An `N:D` argument of `--predict` (parameters and tokens, both positive).
    func parsePair(_ s: String) throws -> (Double, Double) {
        let parts = s.split(separator: ":").compactMap { Double($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--predict: '\(s)' is not N:D") }
        return (parts[0], parts[1])
    }

    func runChinchilla() throws {
        let points: [[Double]]
        do { points = try PointsFile.read(URL(fileURLWithPath: input), columns: ["N", "D", "loss"]) } catch { throw fail(error.localizedDescription) }
        let targets = try predict.map(parsePair)
        let fit: ChinchillaFit
        do { fit = try fitChinchilla(parameters: points.map { $0[0] }, tokens: points.map { $0[1] }, losses: points.map { $0[2] }) } catch {
            throw fail("\(input): \(error.localizedDescription)")
        }
        var sse = 0.0
        for p in points { let d = fit.loss(parameters: p[0], tokens: p[1]) - p[2]; sse += d * d }
        let rmse = (sse / Double(points.count)).squareRoot()
        try saveFit(fit)
        if json {
            struct Out: Codable { var law: String; var coefficients: [String: Double]; var n: Int; var rmse: Double; var objective: Double
                                  var predictions: [[String: Double]] }
            let out = Out(law: "chinchilla", coefficients: ["E": fit.E, "A": fit.A, "B": fit.B, "alpha": fit.alpha, "beta": fit.beta],
                          n: fit.n, rmse: rmse, objective: fit.objective,
                          predictions: targets.map { ["N": $0.0, "D": $0.1, "loss": fit.loss(parameters: $0.0, tokens: $0.1)] })
            print(try encodeJSON(out))
            return
        }
        print("Chinchilla fit L = E + A/N^α + B/D^β on \(fit.n) points from \(input) (Huber δ 1e-3 on log L, L-BFGS, \(chinchillaStarts().count) starts, \(fit.starts) converged)")
        print(String(format: "  E = %.4f  A = %.1f  B = %.1f  α = %.5f  β = %.5f   rmse %.3g, objective %.6g", fit.E, fit.A, fit.B, fit.alpha, fit.beta, rmse, fit.objective))
        for (n, d) in targets { print(String(format: "  predict N %.4g, D %.4g: %.4f", n, d, fit.loss(parameters: n, tokens: d))) }
    }
}

extension Fit {
    /// Gadre et al.'s two laws: over-training L(C, M) and downstream Err(L).
    func runGadre() throws {
        let columns = law == "overtrain" ? ["N", "D", "loss"] : ["loss", "err"]
        let points: [[Double]]
        do { points = try PointsFile.read(URL(fileURLWithPath: input), columns: columns) } catch { throw fail(error.localizedDescription) }
        var coefficients: [String: Double] = [:]
        var predictions: [[String: Double]] = []
        var title = "", stat = 0.0
        do {
            if law == "overtrain" {
                let fit = try fitOverTraining(parameters: points.map { $0[0] }, tokens: points.map { $0[1] }, losses: points.map { $0[2] })
                coefficients = ["E": fit.E, "a": fit.a, "b": fit.b, "eta": fit.eta]
                title = "over-training L = E + (a·M^η + b·M^−η)·C^−η"; stat = fit.residualStandardError
                predictions = try predict.map(parsePair).map { n, d in
                    ["N": n, "D": d, "M": d / n, "loss": fit.loss(parameters: n, tokens: d)]
                }
                try saveFit(fit)
            } else {
                let fit = try fitDownstream(losses: points.map { $0[0] }, errors: points.map { $0[1] })
                coefficients = ["epsilon": fit.epsilon, "k": fit.k, "gamma": fit.gamma]
                title = "downstream Err = ε − k·exp(−γ·L)"; stat = fit.rmse
                predictions = try predict.map { s in
                    guard let l = Double(s), l > 0 else { throw ValidationError("--predict: '\(s)' is not a loss") }
                    return ["loss": l, "err": fit.error(atLoss: l)]
                }
                try saveFit(fit)
            }
        } catch let error as ScalingLawError { throw fail("\(input): \(error.localizedDescription)") }
        if json {
            struct Out: Codable { var law: String; var coefficients: [String: Double]; var n: Int; var fitError: Double; var predictions: [[String: Double]] }
            print(try encodeJSON(Out(law: law, coefficients: coefficients, n: points.count, fitError: stat, predictions: predictions)))
            return
        }
        print("\(title) on \(points.count) points from \(input)")
        print("  " + coefficients.sorted { $0.key < $1.key }.map { String(format: "%@ = %.6g", $0.key, $0.value) }.joined(separator: "  ")
              + String(format: "   (%@ %.3g)", law == "overtrain" ? "residual standard error" : "rmse", stat))
        for p in predictions { print("  predict " + p.sorted { $0.key < $1.key }.map { String(format: "%@ %.5g", $0.key, $0.value) }.joined(separator: ", ")) }
    }
}

struct FitPrediction: Codable {
    var params: Double
    var loss: Double
    var lower: Double
    var upper: Double
    var bootstrapLower: Double?
    var bootstrapUpper: Double?
    var bootstrapFailed: Int?
}

struct FitOutput: Codable {
    var law: String
    var coefficients: [String: Double]
    var stderr: [String: Double]
    var n: Int
    var rmse: Double
    var predictions: [FitPrediction]
    var backtest: [BacktestPoint]
}

/// `nanolm predict`: a saved μScaling fit at other sizes.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Predict losses from a fit saved by `nanolm fit --save`.")
    @Option(help: "The fit JSON (from `nanolm fit --save`).") var fit: String
    @Argument(help: "Parameter counts.") var params: [Double]
    @Option(help: "Interval level.") var level = 0.95
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: fit), let f = try? JSONDecoder().decode(MuScalingFit.self, from: data) else {
            throw ValidationError("\(fit): not a fit saved by `nanolm fit --save`")
        }
        let out = params.map { c -> FitPrediction in
            let (lo, hi) = f.interval(at: c, level: level)
            return FitPrediction(params: c, loss: f.loss(at: c), lower: lo, upper: hi)
        }
        if json {
            print(try encodeJSON(out))
        } else {
            for p in out { print(String(format: "%.4g params: %.4f [%.4f, %.4f]", p.params, p.loss, p.lower, p.upper)) }
        }
    }
}

/// `nanolm cost`: Eq. (1) of the paper for a μScaling plan against one target run.
struct Cost: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cost a μScaling plan against one target run by Eq. (1) of the paper.",
        discussion: """
            M(l, w, s, V, B) = 96·B·s·l·w²·(1 + s/(6w) + V/(16·l·w)) FLOPs per step; the ratio is \
            (M(w₁)·t + Σ M(wᵢ)) / M(w_t) with t grid trials at the base width w₁, all runs of --steps steps. \
            Example (the paper's 32-layer GPT): nanolm cost --layers 32 --seq-len 512 --vocab 50304 --batch 512 \
            --base-width 256 --trials 10 --proxies 512,1024,2048 --target 8192
            """)
    @Option var layers: Int
    @Option(name: .customLong("seq-len")) var sequenceLength: Int
    @Option var vocab: Int
    @Option var batch: Int
    @Option(name: .customLong("base-width")) var baseWidth: Int
    @Option(help: "Grid-search trials at the base width.") var trials: Int
    @Option(help: "Comma-separated proxy widths besides the base.") var proxies: String
    @Option var target: Int
    @Option(help: "Steps of every run (the ratio does not depend on it when all runs are equally long).") var steps = 1
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let widths = try proxies.split(separator: ",").map { s -> Int in
            guard let w = Int(s.trimmingCharacters(in: .whitespaces)), w > 0 else { throw ValidationError("--proxies: '\(s)' is not a width") }
            return w
        }
        let plan = [ScalingLaws.Cost.Run(width: baseWidth, steps: steps, count: trials)] + widths.map { ScalingLaws.Cost.Run(width: $0, steps: steps) }
        let ratio = ScalingLaws.Cost.ratio(plan: plan, target: .init(width: target, steps: steps), layers: layers,
                                           sequenceLength: sequenceLength, vocabulary: vocab, batchSize: batch)
        let m = { (w: Int) in ScalingLaws.Cost.stepFLOPs(layers: layers, width: w, sequenceLength: sequenceLength, vocabulary: vocab, batchSize: batch) }
        if json {
            print("{\"ratio\": \(ratio), \"targetStepFLOPs\": \(m(target)), \"baseStepFLOPs\": \(m(baseWidth))}")
        } else {
            print(String(format: "one step: base width %d %.4g FLOPs, target %d %.4g FLOPs", baseWidth, m(baseWidth), target, m(target)))
            print(String(format: "plan / target = %.4f (%.2f%%)", ratio, 100 * ratio))
        }
    }
}
