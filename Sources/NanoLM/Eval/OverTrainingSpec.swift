import Foundation
import ModelSpec

/// An over-training study file (YAML or JSON; docs/EVAL.md): one design trained on a grid of widths ×
/// token multipliers M = D/N, as Gadre et al. (2024) do, to fit L(C, M) and Err(L) on some runs and
/// predict the others.
///
///     name: overtrain-nano
///     data: ../data/nano           # a shard directory (relative to this file)
///     architecture: gpt
///     layers: 2
///     headDim: 16
///     baseWidth: 64                # μP base width; hyper is μTransferred from it
///     hyper: {learningRate: 0.01, initStd: 0.02, outputMultiplier: 1}
///     sequenceLength: 128
///     batchSize: 16
///     widths: [32, 48, 64, 96]
///     multipliers: [5, 10, 20, 40] # M = D/N (Gadre et al.: 20 = compute-optimal, up to 640)
///     fitMaxWidth: 64              # fits use widths ≤ this at M ≤ fitMaxMultiplier, and every M at the smallest width
///     fitMaxMultiplier: 10         # optional; default: the smallest M
///     evalItems: 200               # items per built-in task
///
/// Instead of the grid, `runs` lists every run (Gadre et al. train a sparse set: compute-optimal runs at
/// several sizes, a few over-trained small ones, and the held-out targets):
///
///     runs:
///       - {width: 16, multiplier: 20, fit: true}
///       - {width: 16, multiplier: 640, fit: false}
public struct OverTrainingSpec: Codable, Sendable {
    /// One run of an explicit list.
    public struct Run: Codable, Sendable, Equatable {
        public var width: Int
        public var multiplier: Double
        public var fit: Bool
    }

    public var name: String
    public var data: String
    public var architecture: Architecture
    public var layers: Int
    public var headDim: Int?
    public var tiedEmbeddings: Bool?
    public var baseWidth: Int
    public var hyper: MuHyperParameters?
    public var sequenceLength: Int
    public var batchSize: Int
    /// Warmup as a fraction of each run's steps (default 0.05).
    public var warmupFraction: Double?
    /// The grid (widths × multipliers) and its fit rule; or `runs`.
    public var widths: [Int]?
    public var multipliers: [Double]?
    public var fitMaxWidth: Int?
    /// Fit runs at widths above the smallest have M ≤ this (default: the smallest M).
    public var fitMaxMultiplier: Double?
    public var evalItems: Int?
    public var seed: UInt64?
    /// An explicit list of runs instead of the grid.
    public var runs: [Run]?

    /// The keys each part of the file may use: a misspelt key is an error, not a silently ignored line.
    static let allowedKeys: [String: Set<String>] = [
        "": ["name", "data", "architecture", "layers", "headDim", "tiedEmbeddings", "baseWidth", "hyper", "sequenceLength",
             "batchSize", "warmupFraction", "widths", "multipliers", "fitMaxWidth", "fitMaxMultiplier", "evalItems", "seed", "runs"],
        "hyper": ["learningRate", "initStd", "outputMultiplier"],
        "runs": ["width", "multiplier", "fit"],
    ]

    public static func load(_ url: URL) throws -> OverTrainingSpec {
        var spec = try StudySpec.decodeFile(url, as: OverTrainingSpec.self, allowed: allowedKeys)
        if !spec.data.hasPrefix("/") {
            spec.data = url.deletingLastPathComponent().appendingPathComponent(spec.data).standardizedFileURL.path
        }
        try spec.validate(path: url.path)
        return spec
    }

    /// Checks the fields fit together and lie within ``Limits`` before anything computes with them (a
    /// width × multiplier becomes a step count); the error names the field.
    public func validate(path: String = "study") throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw StudyError.invalidFile(path, message) } }
        func check(_ problem: String?) throws { if let problem { throw StudyError.invalidFile(path, problem) } }
        try check(!name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" },
                  "field 'name' must be non-empty letters, digits, - and _ (it names a directory)")
        try check([.gpt, .llama].contains(architecture), "field 'architecture' must be gpt or llama (downstream scoring needs a causal model)")
        try check(Limits.check(layers, in: 1 ... Limits.layers, "layers"))
        try check(Limits.check(baseWidth, in: 1 ... Limits.width, "baseWidth"))
        if let h = headDim { try check(Limits.check(h, in: 1 ... Limits.width, "headDim")) }
        try check(Limits.check(sequenceLength, in: 2 ... Limits.sequenceLength, "sequenceLength"))
        try check(Limits.check(batchSize, in: 1 ... Limits.batchSize, "batchSize"))
        try check(batchSize * sequenceLength <= Limits.tokensPerMicroBatch,
                  "fields 'batchSize' × 'sequenceLength' make \(batchSize * sequenceLength) tokens per batch, above the limit of \(Limits.tokensPerMicroBatch)")
        if let f = warmupFraction { try check(Limits.check(f, in: 0 ... 1, "warmupFraction")) }
        if let n = evalItems { try check(Limits.check(n, in: 1 ... Limits.itemsPerTask, "evalItems")) }
        if let h = hyper {
            try check(h.learningRate > 0 && h.learningRate.isFinite && h.initStd >= 0 && h.initStd.isFinite && h.outputMultiplier.isFinite,
                      "field 'hyper': learningRate must be positive, initStd not negative, all finite")
        }
        func checkMultiplier(_ m: Double, _ field: String) throws {
            try check(m > 0 && m <= Limits.tokenMultiplier, "field '\(field)' must be a number in (0, \(Limits.tokenMultiplier)], got \(m)")
        }
        if let runs {
            try check(widths == nil && multipliers == nil && fitMaxWidth == nil,
                      "give either 'runs' or the grid ('widths', 'multipliers', 'fitMaxWidth'), not both")
            for (i, r) in runs.enumerated() {
                try check(Limits.check(r.width, in: 1 ... Limits.width, "runs[\(i)].width"))
                try checkMultiplier(r.multiplier, "runs[\(i)].multiplier")
            }
            try check(Set(runs.map { "\($0.width)|\($0.multiplier)" }).count == runs.count, "field 'runs' lists a (width, multiplier) twice")
            try check(runs.contains { !$0.fit }, "field 'runs': nothing is held out (mark some runs fit: false)")
        } else {
            guard let widths, let multipliers, let fitMaxWidth else {
                throw StudyError.invalidFile(path, "give 'widths', 'multipliers' and 'fitMaxWidth' (a grid), or 'runs' (a list)")
            }
            for (i, w) in widths.enumerated() { try check(Limits.check(w, in: 1 ... Limits.width, "widths[\(i)]")) }
            for (i, m) in multipliers.enumerated() { try checkMultiplier(m, "multipliers[\(i)]") }
            if let m = fitMaxMultiplier { try checkMultiplier(m, "fitMaxMultiplier") }
            try check(Set(widths).count == widths.count && widths.count >= 2, "field 'widths' needs at least two different widths")
            try check(Set(multipliers).count == multipliers.count, "field 'multipliers' must be distinct")
            try check(widths.contains { $0 > fitMaxWidth } || multipliers.count > 1, "nothing is held out: raise the largest width above fitMaxWidth")
        }
        let fitRuns = plannedRuns().filter(\.inFit).count
        try check(fitRuns >= 5, "only \(fitRuns) runs are in the fit (the over-training law has 4 coefficients and needs 5): add fit runs")
        for w in plannedRuns().map(\.width) { try check(w % (headDim ?? 64) == 0, "width \(w) is not a multiple of headDim \(headDim ?? 64)") }
        try check(FileManager.default.fileExists(atPath: data + "/index.json"),
                  "field 'data': \(data) has no index.json: build it with `nanolm data build --track nano --tokenizer bytes --out \(data)`")
    }

    /// (width, M) of every run, and whether it is in the fit: M ≤ fitMaxMultiplier (default the smallest M)
    /// at widths ≤ fitMaxWidth, and every M at the smallest width (Gadre et al. fit on compute-optimal runs
    /// plus over-trained small ones).
    public func plannedRuns() -> [(width: Int, multiplier: Double, inFit: Bool)] {
        if let runs { return runs.map { ($0.width, $0.multiplier, $0.fit) } }
        let widths = widths ?? [], multipliers = multipliers ?? [], fitMaxWidth = fitMaxWidth ?? 0
        guard let smallestWidth = widths.min(), let smallestM = multipliers.min() else { return [] }
        let maxM = fitMaxMultiplier ?? smallestM
        return widths.sorted().flatMap { w in multipliers.sorted().map { m in
            (w, m, w <= fitMaxWidth && (m <= maxM || w == smallestWidth))
        } }
    }
}
