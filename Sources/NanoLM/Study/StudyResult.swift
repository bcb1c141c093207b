import Foundation
import ModelSpec
import ScalingLaws

/// One design's prediction at the target width.
public struct DesignPrediction: Codable, Sendable {
    public var design: String
    public var targetParameters: Int
    public var loss: Double
    public var lower: Double
    public var upper: Double
    public var actual: Double?
    /// How lower and upper were made (the delta method's; c fixed when at its bound), and a residual
    /// bootstrap's interval beside it (nil when unavailable; `bootstrapNote` says why). Absent in old results.
    public var interval: String? = nil
    public var bootstrapLower: Double? = nil
    public var bootstrapUpper: Double? = nil
    public var bootstrapNote: String? = nil
}

/// What a study found, for the terminal, `--json` and the report.
public struct StudyResult: Codable, Sendable {
    public struct DesignOutcome: Codable, Sendable {
        public var design: String
        public var best: MuHyperParameters
        public var basin: [MuHyperParameters]
        /// nil when the proxies' losses admit no decreasing power law (``fitError`` says why).
        public var fit: MuScalingFit?
        public var fitError: String?
        public var backtest: [BacktestPoint]
        /// nil without a fit; `actual` may still be known from the target run (``targetLoss``).
        public var prediction: DesignPrediction?
        public var targetParameters: Int
        public var targetLoss: Double?
        /// With `seeds` K > 1: the finished target seeds' losses (``targetLoss`` is their mean).
        public var targetSeedLosses: [Double]?
        /// With `seeds` K > 1: the proxies' seed-to-seed standard deviation, pooled over widths (the fit's weights).
        public var seedStandardDeviation: Double?
        /// (predicted − actual) / actual, when the target was trained.
        public var relativeError: Double?
        /// Downstream error of the proxies and the target on the built-in tasks (`options.evaluate`).
        public var downstream: [DownstreamScore]?
        /// Axes on which the chosen grid point is the grid's smallest or largest value.
        public var gridEdges: [GridEdge]?
        /// `options.transferCheckWidths`: the grid rerun at wider widths, and how much worse the base's point trains there.
        public var transferChecks: [TransferCheck]?
        /// Why the backtest failed, when it was asked for and could not be made.
        public var backtestError: String?
        /// The fit that made `prediction` and `backtest` (`options.fitOn`; absent in old results: final loss),
        /// and the other fit's, beside it (``FitPrediction``).
        public var fitOn: FitSource?
        public var alternative: FitPrediction?
    }
    /// One run's average multiple-choice error (1 − acc_token) next to its held-out loss.
    public struct DownstreamScore: Codable, Sendable {
        public var phase: RunPhase
        public var width: Int
        public var parameters: Int
        public var validationLoss: Double?
        public var error: Double
        public var standardError: Double
    }
    public var study: String
    public var targetWidth: Int
    public var outcomes: [DesignOutcome]
    /// Best design first (lowest predicted loss); whether its interval separates from the runner-up's.
    public var ranking: [String]
    public var intervalsSeparate: Bool?
    /// Eq. (1): FLOPs of everything trained but the target, over one target run; and the same by counted FLOPs.
    public var costRatioEquation1: Double
    public var costRatioCounted: Double
    public var runs: [StoredRun]

    /// Why the study failed, or nil: a design has no prediction and some of its proxies failed (or diverged),
    /// so the study could not do what it was asked. `nanolm study run` exits non-zero with it. (A fit that is
    /// degenerate on finished proxies is a finding, reported with the result, not a failure.)
    public var failure: String? {
        let reasons: [String] = outcomes.filter { $0.prediction == nil }.compactMap { o in
            let bad = runs.filter { $0.design == o.design && $0.phase == .proxy && ($0.status == .failed || $0.status == .diverged) }
            guard !bad.isEmpty else { return nil }
            return "design \(o.design) has no prediction (\(o.fitError ?? "no fit")): \(bad.count) proxy run(s) did not finish: "
                + bad.prefix(3).map { "width \($0.width) \($0.status.rawValue)\($0.message.map { " (" + $0 + ")" } ?? "")" }.joined(separator: ", ")
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ") + " — see `nanolm study status` and the runs' train.log"
    }
}
