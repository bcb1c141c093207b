import Foundation
import ModelSpec
import Yams

/// A μScaling study file (YAML or JSON; docs/STUDY.md): the designs to compare, the μP base width and
/// hyperparameter grid, the proxy and target widths, the training budget and the data.
public struct StudySpec: Codable, Hashable, Sendable {
    /// One model design: everything but width, which the study varies.
    public struct Design: Codable, Hashable, Sendable {
        public var name: String
        public var architecture: Architecture
        public var layers: Int
        public var ffnRatio: Double?
        public var headDim: Int?
        public var tiedEmbeddings: Bool?
        public var dropout: Double?
    }
    /// The μTransferable hyperparameters searched at the base width (every combination is a run).
    public struct Grid: Codable, Hashable, Sendable {
        public var learningRates: [Double]
        public var initStds: [Double]?
        public var outputMultipliers: [Double]?
    }
    /// Every run of the study trains with this budget (only the width and the hyperparameters change).
    public struct Budget: Codable, Hashable, Sendable {
        public var steps: Int
        public var batchSize: Int
        public var sequenceLength: Int
        public var warmupSteps: Int?
        public var decay: Schedule.Decay?
        /// The measured loss a run contributes to the grid choice and the fit (default `validation`).
        public var fitLoss: FitLoss?
        /// With `fitLoss: trainingWindow`: the mean training loss over this many steps up to the last (default 100).
        public var lossWindow: Int?
        /// Target tokens of the fixed validation set every evaluation reads (default ``StudySpec/defaultValidationTokens``).
        public var validationTokens: Int?
        /// Evaluations on the validation set along training, at steps ⌈steps·i/n⌉ for i = 1…n (default
        /// ``StudySpec/defaultEvaluations``); the last one, at the final step, is the run's validation loss.
        public var evaluations: Int?
        /// Checkpoint every this many steps, so a killed study loses at most this much of a run.
        public var checkpointEvery: Int?
        public var weightDecay: Double?
        public var autocast: Bool?
    }
    public struct Options: Codable, Hashable, Sendable {
        /// Grid points whose loss is within this fraction of the best form the basin (default 0.01).
        public var basinTolerance: Double?
        /// Train each proxy at every basin point and fit the mean loss (paper Appendix A, for tiny proxies).
        public var averageBasin: Bool?
        /// Also train the target, to compare the prediction with the truth (default true).
        public var trainTarget: Bool?
        /// Largest proxies held out by the backtest (default 1; 0 turns it off).
        public var backtest: Int?
        /// Interval level of predictions (default 0.95).
        public var level: Double?
        /// Also run the grid at these widths, to see whether the loss basin stays put as width grows (the
        /// paper's Figure 1). A diagnostic: not used for the choice, not counted in the cost.
        public var transferCheckWidths: [Int]?
        /// Score every finished proxy and target of the causal designs (GPT, Llama) on this many items per
        /// built-in task of the data's held-out split (docs/EVAL.md), after the last phase; nil: off.
        public var evaluate: Int?
        /// Train runs that differ only in l, σ, τ and seeds (the grid's points) together as one stacked model:
        /// auto (default), on or off (docs/STUDY.md).
        public var stackGrid: StackChoice?
        /// What the prediction is fitted on: each proxy's final loss (default) or every proxy's learning curve
        /// (docs/DESIGN.md, "Learning curves in the fit"); the other fit is reported beside it.
        public var fitOn: FitSource?
        /// The learning-curve fit uses points from this fraction of the steps on (default 0.1, after warmup).
        public var curveFrom: Double?
    }

    public var name: String
    /// A directory made by `nanolm data build`, or "synthetic"; relative paths are relative to the study file.
    public var data: String
    /// Vocabulary size when `data` is synthetic (otherwise the data's tokenizer decides).
    public var vocabularySize: Int?
    public var baseWidth: Int
    public var designs: [Design]
    public var grid: Grid
    public var proxyWidths: [Int]
    public var targetWidth: Int
    public var budget: Budget
    public var seed: UInt64?
    public var dataSeed: UInt64?
    /// K: every proxy (and the target, when trained) is trained K times, run k (0…K − 1) with seed + k and
    /// dataSeed + k; the fit uses each width's mean loss with its standard error (default 1).
    public var seeds: Int?
    /// Where runs train: cpu, cuda, cuda:N or auto (default). Not part of a run's identity: a study
    /// started on one device continues on another (`nanolm study run --device` overrides it).
    public var device: DeviceChoice?
    public var options: Options?

    /// The keys each part of the file may use: a misspelt key is an error, not a silently ignored line.
    static let allowedKeys: [String: Set<String>] = [
        "": ["name", "data", "vocabularySize", "baseWidth", "designs", "grid", "proxyWidths", "targetWidth", "budget",
             "seed", "dataSeed", "seeds", "device", "options"],
        "designs": ["name", "architecture", "layers", "ffnRatio", "headDim", "tiedEmbeddings", "dropout"],
        "grid": ["learningRates", "initStds", "outputMultipliers"],
        "budget": ["steps", "batchSize", "sequenceLength", "warmupSteps", "decay", "fitLoss", "lossWindow", "validationTokens",
                   "evaluations", "checkpointEvery", "weightDecay", "autocast"],
        "options": ["basinTolerance", "averageBasin", "trainTarget", "backtest", "level", "transferCheckWidths", "evaluate", "stackGrid",
                    "fitOn", "curveFrom"],
    ]

    /// Reads a study file; errors name the file and the field.
    public static func load(_ url: URL) throws -> StudySpec {
        let path = url.path
        var spec = try decodeFile(url, as: StudySpec.self, allowed: allowedKeys)
        if spec.data != "synthetic" && !spec.data.hasPrefix("/") {
            spec.data = url.deletingLastPathComponent().appendingPathComponent(spec.data).standardizedFileURL.path
        }
        try spec.validate(path: path)
        return spec
    }

    /// Reads a YAML or JSON file of fields into `T`. Every error names the file: it cannot be read, it does
    /// not parse, a key is not one `allowed` lists (``checkKeys(_:allowed:path:)``), or a field does not
    /// decode (``describe(_:)`` names it).
    static func decodeFile<T: Decodable>(_ url: URL, as type: T.Type, allowed: [String: Set<String>]) throws -> T {
        let path = url.path
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw StudyError.invalidFile(path, "cannot read the file (does it exist?)")
        }
        do { try YAMLGuard.check(text) } catch let rejection as YAMLGuard.Rejection {
            throw StudyError.invalidFile(path, "\(rejection)")
        }
        let object: Any?
        do { object = try Yams.load(yaml: text) } catch {
            throw StudyError.invalidFile(path, "not valid YAML or JSON: \(error)")
        }
        guard let root = object as? [String: Any] else { throw StudyError.invalidFile(path, "expected a mapping of fields at the top") }
        try checkKeys(root, allowed: allowed, path: path)
        do { return try YAMLDecoder().decode(T.self, from: text) } catch let error as DecodingError {
            throw StudyError.invalidFile(path, describe(error))
        }
    }

    /// Throws on the first key of `root` — or of a section (a mapping, or a list of mappings) named in
    /// `allowed` — that `allowed` does not list; "" holds the top-level keys.
    static func checkKeys(_ root: [String: Any], allowed: [String: Set<String>], path: String) throws {
        func check(_ map: [String: Any], _ section: String, _ label: String) throws {
            let keys = allowed[section]!
            for key in map.keys.sorted() where !keys.contains(key) {
                throw StudyError.invalidFile(path, "unknown field '\(label.isEmpty ? key : "\(label).\(key)")' (allowed: \(keys.sorted().joined(separator: ", ")))")
            }
        }
        try check(root, "", "")
        for (section, value) in root where !section.isEmpty && allowed[section] != nil {
            if let map = value as? [String: Any] { try check(map, section, section) }
            if let list = value as? [[String: Any]] {
                for (i, item) in list.enumerated() { try check(item, section, "\(section)[\(i)]") }
            }
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func field(_ path: [CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
        }
        switch error {
        case let .keyNotFound(key, context): return "missing field '\(field(context.codingPath + [key]))'"
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return "field '\(field(context.codingPath))': \(context.debugDescription)"
        case let .dataCorrupted(context):
            return "field '\(field(context.codingPath))': \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    /// Checks the numbers fit together and lie within ``Limits``, before anything computes with them; the
    /// error names the field.
    public func validate(path: String = "study") throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw StudyError.invalidFile(path, message) } }
        func check(_ problem: String?) throws { if let problem { throw StudyError.invalidFile(path, problem) } }
        try check(!name.isEmpty, "field 'name' must not be empty")
        try check(!designs.isEmpty, "field 'designs' must name at least one design")
        try check(Set(designs.map(\.name)).count == designs.count, "field 'designs': design names must be unique")
        for (i, d) in designs.enumerated() {
            try check(Limits.check(d.layers, in: 1 ... Limits.layers, "designs[\(i)].layers"))
            try check(d.name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" },
                      "field 'designs[\(i)].name' may use letters, digits, - and _ only (it names directories)")
            if let h = d.headDim { try check(Limits.check(h, in: 1 ... Limits.width, "designs[\(i)].headDim")) }
            if let f = d.ffnRatio {
                try check(f > 0 && f <= Limits.ffnRatio, "field 'designs[\(i)].ffnRatio' must be in (0, \(Limits.ffnRatio)], got \(f)")
            }
            if let p = d.dropout { try check(p >= 0 && p < 1, "field 'designs[\(i)].dropout' must be in [0, 1), got \(p)") }
        }
        if let v = vocabularySize { try check(Limits.check(v, in: 2 ... Limits.vocabularySize, "vocabularySize")) }
        try check(!grid.learningRates.isEmpty, "field 'grid.learningRates' must not be empty")
        try check((grid.learningRates + (grid.initStds ?? []) + (grid.outputMultipliers ?? [])).allSatisfy { $0 > 0 && $0.isFinite },
                  "field 'grid': every value must be a positive number")
        try check(grid.initStds?.isEmpty != true, "field 'grid.initStds' must not be empty when given")
        try check(grid.outputMultipliers?.isEmpty != true, "field 'grid.outputMultipliers' must not be empty when given")
        try check(Limits.check(baseWidth, in: 1 ... Limits.width, "baseWidth"))
        try check(Limits.check(targetWidth, in: 1 ... Limits.width, "targetWidth"))
        for (i, w) in proxyWidths.enumerated() { try check(Limits.check(w, in: 1 ... Limits.width, "proxyWidths[\(i)]")) }
        for (i, w) in (options?.transferCheckWidths ?? []).enumerated() {
            try check(Limits.check(w, in: 1 ... Limits.width, "options.transferCheckWidths[\(i)]"))
        }
        let headDims = Set(designs.map { $0.headDim ?? 64 })
        try check(proxyWidths.count >= 4, "field 'proxyWidths' needs at least 4 widths (a fit of a·C^b + c with standard errors)")
        try check(proxyWidths.allSatisfy { $0 >= baseWidth },
                  "field 'proxyWidths': every proxy must be at least the base width \(baseWidth), got \(proxyWidths)")
        try check(Set(proxyWidths).count == proxyWidths.count, "field 'proxyWidths' has duplicates")
        try check((options?.transferCheckWidths ?? []).allSatisfy { $0 > baseWidth },
                  "field 'options.transferCheckWidths' must be above the base width \(baseWidth) (the grid runs at the base width anyway)")
        try check(targetWidth > proxyWidths.max()!, "field 'targetWidth' (\(targetWidth)) must be above every proxy width")
        for w in [baseWidth, targetWidth] + proxyWidths + (options?.transferCheckWidths ?? []) { for h in headDims {
            try check(w % h == 0, "width \(w) is not a multiple of the head size \(h) (heads = width / headDim)")
        } }
        try check(Limits.check(budget.steps, in: 1 ... Limits.steps, "budget.steps"))
        try check(Limits.check(budget.batchSize, in: 1 ... Limits.batchSize, "budget.batchSize"))
        try check(Limits.check(budget.sequenceLength, in: 2 ... Limits.sequenceLength, "budget.sequenceLength"))
        let microBatch = budget.batchSize * budget.sequenceLength
        try check(microBatch <= Limits.tokensPerMicroBatch,
                  "fields 'budget.batchSize' × 'budget.sequenceLength' make \(microBatch) tokens per batch, above the limit of \(Limits.tokensPerMicroBatch)")
        let (tokens, overflow) = microBatch.multipliedReportingOverflow(by: budget.steps)
        try check(!overflow && tokens <= Limits.totalTokens,
                  "field 'budget.steps': \(budget.steps) steps of \(microBatch) tokens exceed the limit of \(Limits.totalTokens) tokens per run")
        try check((0...budget.steps).contains(budget.warmupSteps ?? 0), "field 'budget.warmupSteps' must be in 0...steps")
        if let n = budget.lossWindow { try check(Limits.check(n, in: 1 ... Limits.steps, "budget.lossWindow")) }
        if let n = budget.validationTokens { try check(Limits.check(n, in: 1 ... Limits.totalTokens, "budget.validationTokens")) }
        if let n = budget.evaluations { try check(Limits.check(n, in: 1 ... min(budget.steps, Self.maxEvaluations), "budget.evaluations")) }
        if let k = seeds { try check(Limits.check(k, in: 1 ... Self.maxSeeds, "seeds")) }
        if let n = budget.checkpointEvery { try check(Limits.check(n, in: 0 ... Limits.steps, "budget.checkpointEvery")) }
        if let wd = budget.weightDecay { try check(Limits.check(wd, in: 0 ... 1e6, "budget.weightDecay")) }
        if let t = options?.basinTolerance { try check(Limits.check(t, in: 0 ... 1e6, "options.basinTolerance")) }
        if let n = options?.backtest { try check(Limits.check(n, in: 0 ... proxyWidths.count, "options.backtest")) }
        if let n = options?.evaluate {
            try check(Limits.check(n, in: 1 ... Limits.itemsPerTask, "options.evaluate"))
            try check(data != "synthetic", "field 'options.evaluate' needs token data with a held-out split, not 'synthetic'")
        }
        if let f = options?.curveFrom { try check(f >= 0 && f < 1, "field 'options.curveFrom' must be in [0, 1), got \(f)") }
        if let l = options?.level { try check(l > 0 && l < 1, "field 'options.level' must be in (0, 1), got \(l)") }
        try check(data == "synthetic" || FileManager.default.fileExists(atPath: data + "/index.json"),
                  "field 'data': \(data) has no index.json: build it with `nanolm data build --track nano --tokenizer bytes --out \(data)`")
    }

    /// At most this many seeds per run (`seeds`): K × the proxies' cost is trained.
    public static let maxSeeds = 64
    /// At most this many evaluations per run (`budget.evaluations`).
    public static let maxEvaluations = 1000
    /// The validation set's size when `budget.validationTokens` is not given: on the nano track's split its
    /// paired error is below 0.002 nats (docs/DESIGN.md, "The validation set").
    public static let defaultValidationTokens = 393_216
    /// Evaluations along training when `budget.evaluations` is not given.
    public static let defaultEvaluations = 8

    var basinTolerance: Double { options?.basinTolerance ?? 0.01 }
    var seedCount: Int { seeds ?? 1 }
    var fitLoss: FitLoss { budget.fitLoss ?? .validation }
    /// The steps at which every run is evaluated on the validation set: ⌈steps·i/n⌉, i = 1…n.
    var evaluationSteps: [Int] {
        let n = budget.evaluations ?? Self.defaultEvaluations, steps = budget.steps
        return Array(Set((1 ... max(n, 1)).map { (steps * $0 + n - 1) / n })).sorted()
    }
    var averagesBasin: Bool { options?.averageBasin ?? false }
    var trainsTarget: Bool { options?.trainTarget ?? true }
    var backtestCount: Int { options?.backtest ?? 1 }
    var level: Double { options?.level ?? 0.95 }
    var fitOn: FitSource { options?.fitOn ?? .finalLoss }
    var curveFrom: Double { options?.curveFrom ?? 0.1 }

    /// Every grid point (l, σ, τ), in file order.
    var gridPoints: [MuHyperParameters] {
        var points: [MuHyperParameters] = []
        for lr in grid.learningRates { for std in grid.initStds ?? [0.02] { for tau in grid.outputMultipliers ?? [1] {
            points.append(MuHyperParameters(learningRate: lr, initStd: std, outputMultiplier: tau))
        } } }
        return points
    }
}

/// The measured loss a study fits (and chooses grid points by).
public enum FitLoss: String, Codable, Sendable, CaseIterable {
    /// The loss on the fixed validation set at the last step (the default: docs/DESIGN.md, "The fitted loss").
    case validation
    /// The mean training loss over the last `lossWindow` steps (the paper's code; the default before issue 16).
    case trainingWindow

    /// What it is, in words, for `spec`'s budget.
    func description(_ spec: StudySpec) -> String {
        switch self {
        case .validation:
            return "the loss on the fixed validation set (\(spec.budget.validationTokens ?? StudySpec.defaultValidationTokens) tokens) at the last step"
        case .trainingWindow: return "the mean training loss over the last \(min(spec.budget.lossWindow ?? 100, spec.budget.steps)) steps"
        }
    }

    var axisLabel: String { self == .validation ? "validation loss" : "training loss (window mean)" }
}

public enum StudyError: Error, LocalizedError {
    case invalidFile(String, String)
    case failed(String)
    public var errorDescription: String? {
        switch self {
        case let .invalidFile(path, message): return "\(path): \(message)"
        case let .failed(message): return message
        }
    }
}
