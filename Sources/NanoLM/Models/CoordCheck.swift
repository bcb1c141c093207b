import Foundation
import ModelSpec
import Torch

/// The coordinate check (microsoft/mup's `get_coord_data`, extended to transformers): train tiny models
/// of growing width for a few AdamW steps at a deliberately high learning rate and watch the size of
/// every module's output. Under μP the mean |x| of each output — and of its change since
/// initialisation — stays the same as width grows; under SP the hidden outputs grow with width.
///
/// The verdict fits log(mean |x|) against log(width) per module and step (seeds averaged) and passes
/// when every slope from `judgedFromStep` on is within ±`tolerance`.
public enum CoordCheck {
    public struct Options: Codable, Sendable {
        public var architecture: Architecture = .gpt
        public var parametrization: Parametrization.Kind = .muP
        public var widths = [64, 128, 256, 512]
        /// μP's base width (the first width by default).
        public var baseWidth = 64
        public var layers = 2
        /// Small heads, so that even the narrowest model has many of them (8 at width 64). μP's limit grows
        /// the number of heads at a fixed head size; with few heads the attention logits carry a
        /// finite-width term that decays as heads grow (docs/DESIGN.md, "Coordinate check").
        public var headDim = 8
        public var vocabularySize = 256
        /// One short sequence: few tokens make the gradient low-rank, so each update's coherent part
        /// (which μP keeps width-independent) dominates the incoherent part, a finite-width
        /// fluctuation that shrinks like 1/√width (docs/DESIGN.md, "Models").
        public var sequenceLength = 16
        public var batchSize = 1
        public var seeds = 4
        /// AdamW updates; outputs are recorded at init and after each update.
        public var steps = 4
        /// High for Adam at these widths (hidden updates move outputs by ~lr·base per step).
        public var learningRate = 3e-3
        public var initStd = 0.02
        public var outputMultiplier = 1.0
        /// Largest |slope| that counts as flat (μP measures ≤ 0.1 here; SP 1–2.6).
        public var tolerance = 0.15
        /// Steps whose slopes decide the verdict (the first update may still carry init's width dependence).
        public var judgedFromStep = 2

        public init(architecture: Architecture = .gpt, parametrization: Parametrization.Kind = .muP) {
            self.architecture = architecture
            self.parametrization = parametrization
        }

        func config(width: Int) -> ModelConfig {
            ModelConfig(architecture: architecture, layers: layers, width: width, vocabularySize: vocabularySize,
                        sequenceLength: sequenceLength, headDim: headDim, ffnRatio: 4, dropout: 0, tiedEmbeddings: false,
                        parametrization: Parametrization(kind: parametrization, baseWidth: baseWidth),
                        hyper: MuHyperParameters(learningRate: learningRate, initStd: initStd, outputMultiplier: outputMultiplier))
        }
    }

    /// Seed-averaged statistics of one module's output at one width and step.
    public struct Point: Codable, Sendable {
        public var width: Int
        public var step: Int
        public var module: String
        /// mean |x| over every element of the output, averaged over seeds.
        public var meanAbs: Double
        /// mean |x_step − x_0| (the same batch), averaged over seeds.
        public var meanAbsChange: Double
    }

    /// The log-log slope of one statistic against width.
    public struct Slope: Codable, Sendable {
        public var module: String
        public var step: Int
        /// "|x|" or "|Δx|".
        public var statistic: String
        public var slope: Double
        public var judged: Bool
        public var flat: Bool
    }

    public struct Result: Codable, Sendable {
        public var options: Options
        public var points: [Point]
        public var slopes: [Slope]
        /// Every judged slope is flat.
        public var passed: Bool { slopes.allSatisfy { !$0.judged || $0.flat } }
        /// Judged slopes that are not flat, steepest first.
        public var failures: [Slope] { slopes.filter { $0.judged && !$0.flat }.sorted { abs($0.slope) > abs($1.slope) } }
    }

    /// Runs the check on `device`; `progress` gets one line per (width, seed).
    /// `prepare` sees each freshly built model before training (tests use it to plant μP bugs).
    public static func run(_ options: Options, device: Device = .cpu, prepare: (any LanguageModel) throws -> Void = { _ in },
                           progress: (String) -> Void = { _ in }) throws -> Result {
        guard options.widths.count >= 2 else { throw ModelError.invalidConfiguration("coordinate check needs at least two widths") }
        // (width, step, module) → sums over seeds
        var sums: [String: (Int, Int, String, Double, Double)] = [:]
        var order: [String] = []
        for width in options.widths {
            let config = options.config(width: width)
            for seed in 0 ..< options.seeds {
                let model = try makeModel(config, seed: UInt64(1000 + seed), device: device)
                try prepare(model)
                let batch = try batch(options, seed: seed).moved(to: device)
                let optimizer = try AdamW(model.parameters)
                var initial: [String: Tensor] = [:]
                var lastLoss = Double.nan
                for step in 0 ... options.steps {
                    let (loss, outputs) = try ActivationProbe.recording { try model.loss(batch, training: true) }
                    lastLoss = try loss.item()
                    // Non-finite outputs have no slope; they must fail the check, not vanish from it.
                    guard lastLoss.isFinite else {
                        throw ModelError.invalidConfiguration(
                            "coordinate check: the loss is \(lastLoss) at width \(width), seed \(seed), step \(step) — the model diverged (a μP bug, or lower --lr)")
                    }
                    for (name, x) in outputs {
                        if step == 0 { initial[name] = x }
                        let meanAbs = try x.abs().mean().item()
                        let change = try (x - initial[name]!).abs().mean().item()
                        let key = "\(width)|\(step)|\(name)"
                        if sums[key] == nil { sums[key] = (width, step, name, 0, 0); if width == options.widths[0] && step == 0 { order.append(name) } }
                        sums[key]!.3 += meanAbs / Double(options.seeds)
                        sums[key]!.4 += change / Double(options.seeds)
                    }
                    guard step < options.steps else { break }
                    try optimizer.zeroGrad()
                    try loss.backward()
                    try optimizer.update(learningRate: options.learningRate)
                }
                progress("width \(width) seed \(seed): loss after \(options.steps) steps \(String(format: "%.3f", lastLoss))")
            }
        }
        let points = sums.values.map { Point(width: $0.0, step: $0.1, module: $0.2, meanAbs: $0.3, meanAbsChange: $0.4) }
            .sorted { ($0.step, order.firstIndex(of: $0.module) ?? 0, $0.width) < ($1.step, order.firstIndex(of: $1.module) ?? 0, $1.width) }
        var slopes: [Slope] = []
        for step in 0 ... options.steps {
            for module in order {
                let series = points.filter { $0.step == step && $0.module == module }
                for (statistic, values) in [("|x|", series.map(\.meanAbs)), ("|Δx|", series.map(\.meanAbsChange))] {
                    guard let slope = logLogSlope(series.map { Double($0.width) }, values) else { continue }
                    let judged = step >= options.judgedFromStep
                    slopes.append(Slope(module: module, step: step, statistic: statistic, slope: slope, judged: judged,
                                        flat: abs(slope) <= options.tolerance))
                }
            }
        }
        return Result(options: options, points: points, slopes: slopes)
    }

    /// The same batch at every width (it depends on the seed only), for the architecture's objective:
    /// next tokens (GPT, Llama); every other position masked with id V − 1 and predicted (BERT); an
    /// encoder input whose first half is the target, read by the decoder shifted right (T5).
    static func batch(_ options: Options, seed: Int) throws -> Batch {
        let (b, t, v) = (options.batchSize, options.sequenceLength, options.vocabularySize)
        let tokens = try Tensor.randint(0, v, [b, t + 1], generator: Generator(seed: UInt64(seed)))  // [B, T+1]
        let inputs = try tokens.narrow(1, start: 0, length: t).contiguous()                             // [B, T]
        switch options.architecture {
        case .gpt, .llama:
            return Batch(inputs: inputs, targets: try tokens.narrow(1, start: 1, length: t).contiguous())
        case .bert:
            let ids = try inputs.toArray(Int64.self)
            let masked = ids.indices.map { $0 % 2 == 0 }
            return Batch(inputs: try Tensor(zip(ids, masked).map { $1 ? Int64(v - 1) : $0 }, shape: [b, t]),
                         targets: try Tensor(zip(ids, masked).map { $1 ? $0 : Int64(Batch.ignoreIndex) }, shape: [b, t]))
        case .t5:
            // As in span corruption, the targets are tokens the encoder saw (here its first half), so the
            // cross-attention has something to learn; independent random targets leave it only noise.
            let targets = try inputs.narrow(1, start: 0, length: t / 2).contiguous()                             // [B, T/2]
            let start = try Tensor.zeros([b, 1], dtype: .int64)
            let decoderInputs = try Tensor.cat([start, targets.narrow(1, start: 0, length: t / 2 - 1)], dim: 1)      // [B, T/2]
            return Batch(inputs: inputs, targets: targets, decoderInputs: decoderInputs)
        }
    }

    /// Least-squares slope of log y against log x; nil when any y is zero or not finite (e.g. μP's
    /// zero-initialised readout at step 0, or changes at step 0).
    static func logLogSlope(_ x: [Double], _ y: [Double]) -> Double? {
        guard x.count >= 2, y.allSatisfy({ $0 > 1e-30 && $0.isFinite }) else { return nil }
        let lx = x.map { Foundation.log($0) }, ly = y.map { Foundation.log($0) }
        let mx = lx.reduce(0, +) / Double(lx.count), my = ly.reduce(0, +) / Double(ly.count)
        let sxy = zip(lx, ly).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let sxx = lx.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        return sxy / sxx
    }
}

extension CoordCheck.Result {
    /// One row per (width, step, module): seed-averaged mean |x| and mean |Δx|.
    public var csv: String {
        var lines = ["architecture,parametrization,width,step,module,mean_abs,mean_abs_change"]
        for p in points {
            lines.append("\(options.architecture.rawValue),\(options.parametrization.rawValue),\(p.width),\(p.step),\(p.module),\(p.meanAbs),\(p.meanAbsChange)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A plain-text verdict: the judged slopes per module (worst over steps) and PASS / FAIL.
    public var report: String {
        var lines = ["coordinate check: \(options.architecture.rawValue), \(options.parametrization == .muP ? "μP (base \(options.baseWidth))" : "SP"), widths \(options.widths.map(String.init).joined(separator: " ")), \(options.seeds) seeds, \(options.steps) AdamW steps at lr \(options.learningRate)",
                     "slope of log mean|x| against log width, worst over steps \(options.judgedFromStep)…\(options.steps) (flat: |slope| ≤ \(options.tolerance))",
                     pad("module", 34) + pad("|x|", 9) + pad("|Δx|", 9) + "step 1 |x|"]
        var modules: [String] = []
        for s in slopes where !modules.contains(s.module) { modules.append(s.module) }
        for module in modules {
            func worst(_ statistic: String) -> String {
                let judged = slopes.filter { $0.module == module && $0.statistic == statistic && $0.judged }
                guard let w = judged.max(by: { abs($0.slope) < abs($1.slope) }) else { return "–" }
                return String(format: "%+.2f%@", w.slope, w.flat ? "" : "!")
            }
            let first = slopes.first { $0.module == module && $0.statistic == "|x|" && $0.step == 1 }.map { String(format: "%+.2f", $0.slope) } ?? "–"
            lines.append(pad(module, 34) + pad(worst("|x|"), 9) + pad(worst("|Δx|"), 9) + first)
        }
        let failures = self.failures
        lines.append(passed ? "PASS: every module's output stays the same size as width grows."
                            : "FAIL: \(failures.count) judged slopes are not flat; steepest: \(failures.prefix(3).map { "\($0.module) \($0.statistic) step \($0.step) slope \(String(format: "%+.2f", $0.slope))" }.joined(separator: "; "))")
        return lines.joined(separator: "\n")
    }

    /// An SVG figure: one panel per step, mean |x| (top row) and mean |Δx| (bottom row) against width
    /// on log-log axes, one line per module.
    public var svg: String {
        let steps = Array(0 ... options.steps)
        let (panelW, panelH, margin) = (220.0, 180.0, 44.0)
        let width = Double(steps.count) * (panelW + margin) + margin + 220
        let height = 2 * (panelH + margin) + margin
        var modules: [String] = []
        for p in points where !modules.contains(p.module) { modules.append(p.module) }
        let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
        let xs = options.widths.map { Foundation.log10(Double($0)) }
        let (xMin, xMax) = (xs.min()!, xs.max()!)
        var out = [#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height))" font-family="sans-serif" font-size="10">"#,
                   #"<rect width="100%" height="100%" fill="white"/>"#,
                   #"<text x="\#(margin)" y="14" font-size="12">coordinate check: \#(options.architecture.rawValue) \#(options.parametrization == .muP ? "μP" : "SP") — \#(passed ? "PASS" : "FAIL") (log-log; flat lines = width-independent)</text>"#]
        for (row, statistic) in ["mean |x|", "mean |Δx| since init"].enumerated() {
            let values = points.map { row == 0 ? $0.meanAbs : $0.meanAbsChange }.filter { $0 > 1e-30 && $0.isFinite }.map { Foundation.log10($0) }
            let (yMin, yMax) = (values.min() ?? 0, max((values.max() ?? 1), (values.min() ?? 0) + 1e-9))
            for (column, step) in steps.enumerated() {
                let x0 = margin + Double(column) * (panelW + margin), y0 = 24 + margin / 2 + Double(row) * (panelH + margin)
                out.append(#"<rect x="\#(x0)" y="\#(y0)" width="\#(panelW)" height="\#(panelH)" fill="none" stroke="gray"/>"#)
                out.append(#"<text x="\#(x0 + 4)" y="\#(y0 + 12)">\#(statistic), step \#(step)</text>"#)
                out.append(#"<text x="\#(x0)" y="\#(y0 + panelH + 12)">\#(options.widths.first!)</text><text x="\#(x0 + panelW - 20)" y="\#(y0 + panelH + 12)">\#(options.widths.last!)</text>"#)
                if column == 0 {
                    out.append(#"<text x="2" y="\#(y0 + 10)">1e\#(String(format: "%.1f", yMax))</text><text x="2" y="\#(y0 + panelH)">1e\#(String(format: "%.1f", yMin))</text>"#)
                }
                for (m, module) in modules.enumerated() {
                    let series = points.filter { $0.step == step && $0.module == module }
                    let coordinates: [String] = series.compactMap { p in
                        let v = row == 0 ? p.meanAbs : p.meanAbsChange
                        guard v > 1e-30, v.isFinite else { return nil }
                        let px = x0 + (Foundation.log10(Double(p.width)) - xMin) / max(xMax - xMin, 1e-9) * panelW
                        let py = y0 + panelH - (Foundation.log10(v) - yMin) / (yMax - yMin) * panelH
                        return String(format: "%.1f,%.1f", px, py)
                    }
                    if coordinates.count >= 2 {
                        out.append(#"<polyline fill="none" stroke="\#(palette[m % palette.count])" stroke-width="1.5" points="\#(coordinates.joined(separator: " "))"/>"#)
                    }
                }
            }
        }
        let legendX = margin + Double(steps.count) * (panelW + margin)
        for (m, module) in modules.enumerated() {
            let y = 40 + Double(m) * 14
            out.append(#"<line x1="\#(legendX)" y1="\#(y - 3)" x2="\#(legendX + 16)" y2="\#(y - 3)" stroke="\#(palette[m % palette.count])" stroke-width="2"/><text x="\#(legendX + 20)" y="\#(y)">\#(module)</text>"#)
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }
}

private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
