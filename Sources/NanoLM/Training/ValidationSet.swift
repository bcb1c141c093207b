import Foundation
import Torch

// The fixed validation set: a run evaluates W windows spread evenly over its data's validation split
// (``evenlySpacedWindows(_:of:)``, ``BatchSource/validationBatch(windows:)``: masks and spans seeded by a constant), so
// every width, design (of one objective and sequence length), seed and data seed of a study is measured on
// the same tokens. docs/DESIGN.md ("The validation set") says how large and how often.

/// The windows of the fixed validation set: `count` of the split's `total`, evenly spaced (window ⌊i·total/count⌋,
/// i < count), so that a split held out domain after domain is sampled in proportion; all of them when
/// count ≥ total.
public func evenlySpacedWindows(_ count: Int, of total: Int) -> [Int] {
    count >= total ? Array(0 ..< total) : (0 ..< count).map { $0 * total / count }
}

/// One evaluation on the fixed validation set, as a run records it: in summary.json's `evaluations`, in
/// metrics.jsonl (`val_loss`, `val_se`, `val_targets`, `val_checksum`), and in a study's `validation` table.
public struct ValidationPoint: Codable, Hashable, Sendable {
    /// Optimizer steps done when it was measured.
    public var step: Int
    /// Training tokens seen by then.
    public var tokens: Int
    /// Mean cross-entropy per target token over the set.
    public var loss: Double
    /// The standard error of `loss` as an estimate of the loss on held-out text of this kind (the set is a
    /// sample of it): batch means over consecutive windows (``ValidationMeasurement/standardError``). nil
    /// with fewer than two windows.
    public var standardError: Double?
    /// Target tokens evaluated.
    public var targets: Int
    /// FNV-1a 64 of every token id evaluated, window by window (inputs, then targets, as little-endian
    /// Int64): two runs with the same checksum were measured on the same tokens.
    public var checksum: String
}

extension ValidationPoint {
    /// Its line in metrics.jsonl.
    var metricsLine: [String: Any] {
        var line: [String: Any] = ["step": step, "tokens": tokens, "val_loss": loss, "val_targets": targets, "val_checksum": checksum]
        if let standardError { line["val_se"] = standardError }
        return line
    }
}

/// The per-window losses of one evaluation.
public struct ValidationMeasurement: Sendable {
    /// Per window: the summed cross-entropy of its targets, and how many targets count.
    public private(set) var sums: [Double] = []
    public private(set) var counts: [Int] = []
    /// Per window: its domain and document, when the data's layout is known (``ValidationLayout``).
    public private(set) var groups: [WindowGroup]? = []
    var hash = FNV1a()

    /// Groups of consecutive windows for the batch-means standard error, used when the windows' documents
    /// are not known (at most this many).
    public static let groups = 32

    public init() {}

    /// Mean loss per target token.
    public var loss: Double { sums.reduce(0, +) / Double(max(counts.reduce(0, +), 1)) }
    public var targets: Int { counts.reduce(0, +) }
    public var checksum: String { hash.hex }

    /// The standard error of ``loss`` as an estimate of the loss on held-out text of this kind.
    ///
    /// With the windows' documents known, **stratified by domain and clustered by document**: the set is
    /// documents drawn at random within each domain to a share the track fixes, so the error is the spread of
    /// whole documents within their domain, SE² = Σ_h n_h/(n_h − 1) · Σ_{c∈h} (S_c − L_h·N_c)² / N² (h a
    /// domain with n_h documents and mean loss L_h; S_c and N_c a document's summed loss and targets, N = Σ
    /// N_c). A domain of one document adds nothing it could measure. Otherwise by **batch means**: the
    /// windows cut into `groups` runs of consecutive windows, taken as the clusters of one stratum (text is
    /// correlated within a document and a document spans windows; groups of many windows are nearly
    /// independent). nil with fewer than two clusters or no targets.
    public func standardError(groups: Int = ValidationMeasurement.groups) -> Double? {
        Self.clusteredError(sums: sums, counts: counts, design: design(batchMeansGroups: groups))
    }

    /// The standard error of `other.loss − loss` when both were measured on the same tokens (the same windows
    /// and checksum), by the same design as ``standardError(groups:)`` applied to the per-window differences
    /// S′_w − S_w: what both models find hard in a document cancels. This is the error that comparing two runs
    /// (two widths, two designs, two seeds) carries; ``standardError(groups:)`` is the error of one loss as an
    /// estimate for held-out text of this kind, common to every run that reads the set. nil when the two were
    /// not measured on the same tokens, or with fewer than two clusters.
    public func pairedStandardError(against other: ValidationMeasurement, groups: Int = ValidationMeasurement.groups) -> Double? {
        guard other.checksum == checksum, other.counts == counts else { return nil }
        return Self.clusteredError(sums: zip(other.sums, sums).map { $0 - $1 }, counts: counts, design: design(batchMeansGroups: groups))
    }

    /// Each window's (stratum, cluster): its domain and document when known, else stratum 0 and one of
    /// `batchMeansGroups` runs of consecutive windows.
    func design(batchMeansGroups: Int) -> [WindowGroup] {
        if let groups, groups.count == sums.count, !groups.isEmpty { return groups }
        let w = sums.count, g = min(batchMeansGroups, w)
        var design = [WindowGroup](repeating: WindowGroup(stratum: 0, cluster: 0), count: w)
        for k in 0 ..< g { for i in k * w / g ..< (k + 1) * w / g { design[i].cluster = k } }
        return design
    }

    /// √(Σ_h n_h/(n_h − 1) · Σ_{c∈h} (S_c − L_h·N_c)²) / N over the windows' strata h and clusters c (S the
    /// per-window `sums`, N the `counts`); nil with no stratum of two clusters, or no targets.
    static func clusteredError(sums: [Double], counts: [Int], design: [WindowGroup]) -> Double? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        // Strata and clusters numbered in order of first appearance, so the sums run in window order.
        var stratumOf: [Int: Int] = [:], clusterOf: [WindowGroup: Int] = [:]
        var stratumSums: [Double] = [], stratumCounts: [Int] = []
        var clusterSums: [Double] = [], clusterCounts: [Int] = [], clusterStrata: [Int] = []
        for (w, group) in design.enumerated() {
            if stratumOf[group.stratum] == nil {
                stratumOf[group.stratum] = stratumSums.count
                stratumSums.append(0); stratumCounts.append(0)
            }
            let h = stratumOf[group.stratum]!
            if clusterOf[group] == nil {
                clusterOf[group] = clusterSums.count
                clusterSums.append(0); clusterCounts.append(0); clusterStrata.append(h)
            }
            let c = clusterOf[group]!
            stratumSums[h] += sums[w]
            stratumCounts[h] += counts[w]
            clusterSums[c] += sums[w]
            clusterCounts[c] += counts[w]
        }
        var squares = [Double](repeating: 0, count: stratumSums.count), clusters = [Int](repeating: 0, count: stratumSums.count)
        for c in clusterSums.indices {
            let h = clusterStrata[c]
            let r = clusterSums[c] - stratumSums[h] / Double(max(stratumCounts[h], 1)) * Double(clusterCounts[c])
            squares[h] += r * r
            clusters[h] += 1
        }
        var variance = 0.0, measured = false
        for h in squares.indices where clusters[h] >= 2 {
            variance += squares[h] * Double(clusters[h]) / Double(clusters[h] - 1)
            measured = true
        }
        return measured ? variance.squareRoot() / Double(total) : nil
    }

    /// A measurement from per-window sums and counts (as ``add(_:losses:groups:)`` records them), the ids'
    /// checksum and, when known, each window's domain and document.
    init(sums: [Double], counts: [Int], checksum hash: FNV1a = FNV1a(), groups: [WindowGroup]? = nil) {
        self.sums = sums
        self.counts = counts
        self.hash = hash
        self.groups = groups
    }

    /// Adds a batch of windows: `batch` on the CPU (its ids are hashed), its per-position losses [B, T], and
    /// each window's domain and document when known (once unknown, the measurement falls back to batch means).
    mutating func add(_ batch: Batch, losses: Tensor, groups windowGroups: [WindowGroup]?) throws {
        let rows = batch.targets.shape[0]
        let t = batch.targets.shape[1], ti = batch.inputs.shape[1]
        let l = try losses.to(.float64, device: .cpu).toArray(Double.self)
        let inputs = try batch.inputs.toArray(Int64.self), targets = try batch.targets.toArray(Int64.self)
        for row in 0 ..< rows {
            var sum = 0.0, count = 0
            for j in row * t ..< (row + 1) * t where targets[j] != Int64(Batch.ignoreIndex) { sum += l[j]; count += 1 }
            sums.append(sum)
            counts.append(count)
            if let windowGroups, row < windowGroups.count { groups?.append(windowGroups[row]) } else { groups = nil }
            hash.combine(inputs[row * ti ..< (row + 1) * ti])
            hash.combine(targets[row * t ..< (row + 1) * t])
        }
    }

    func point(step: Int, tokens: Int) -> ValidationPoint {
        ValidationPoint(step: step, tokens: tokens, loss: loss, standardError: standardError(), targets: targets, checksum: checksum)
    }
}

/// The fixed validation set's windows as evaluation batches: `asked` windows spread evenly over `data`'s split
/// (``evenlySpacedWindows(_:of:)``; all of them when it holds fewer), `batchSize` windows to a forward pass, or
/// 2,048 tokens' worth when that is more (no backward pass to hold, so short sequences go in larger batches).
/// Every evaluation (one model, a stack of them) reads these, so the same tokens whatever the model or seed.
func validationBatchWindows(of data: any BatchSource, asked: Int, batchSize: Int) -> [[Int]] {
    let windows = min(asked, data.validationWindowCount)
    let rows = max(batchSize, 2048 / max(data.validationWindowTokens, 1))
    let selected = evenlySpacedWindows(windows, of: data.validationWindowCount)
    return stride(from: 0, to: windows, by: rows).map { Array(selected[$0 ..< min($0 + rows, windows)]) }
}

/// `model`'s per-token losses on `data`'s fixed validation set: the batches of ``validationBatchWindows(of:asked:batchSize:)``,
/// under bf16 autocast when `autocast`.
public func measureValidation(of model: any LanguageModel, on data: any BatchSource, windows asked: Int, batchSize: Int,
                              autocast: Bool = false, device: Device = .cpu) throws -> ValidationMeasurement {
    var measurement = ValidationMeasurement()
    try withNoGrad {
        for windows in validationBatchWindows(of: data, asked: asked, batchSize: batchSize) {
            let batch = try data.validationBatch(windows: windows)
            let moved = try batch.moved(to: device)
            let losses = autocast ? try withAutocast(.bfloat16, on: device) { try model.tokenLosses(moved) } : try model.tokenLosses(moved)
            try measurement.add(batch, losses: losses, groups: data.validationGroups(windows))
        }
    }
    return measurement
}

/// FNV-1a, 64 bits, streamed: over bytes, or over Int64 values as their little-endian bytes.
struct FNV1a: Sendable {
    var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func combine<S: Sequence>(bytes: S) where S.Element == UInt8 {
        for b in bytes { state = (state ^ UInt64(b)) &* 0x100_0000_01b3 }
    }

    mutating func combine<C: Collection>(_ values: C) where C.Element == Int64 {
        for v in values {
            var x = UInt64(bitPattern: v)
            for _ in 0 ..< 8 { combine(bytes: CollectionOfOne(UInt8(x & 0xff))); x >>= 8 }
        }
    }

    var hex: String { String(format: "%016llx", state) }
}
