import Foundation
import ModelSpec

/// The libtorch threads a study's run trains on, and so how many runs share the machine at once.
///
/// libtorch's results depend on its thread count (a reduction splits its elements by thread, and the
/// partial sums add up in a different order; measured in docs/DESIGN.md, "Parallelism"), so a run's
/// threads come from its model and the machine's cores alone, never from `--jobs`: a run trains bit for
/// bit the same alone and beside others. A small model trains on one thread (its kernels are too short to
/// split well, so runs side by side use the cores better); a larger one on every core, alone.
public struct RunThreads: Sendable, Equatable {
    public var cores: Int

    public init(cores: Int = ProcessInfo.processInfo.activeProcessorCount) { self.cores = max(1, cores) }

    /// Training FLOPs per optimizer step below which a run trains on one thread: 10^11, so GPTs up to width
    /// 512 at the README study's shape (8·10^10) train on one thread each, side by side. Measured on 2 cores
    /// (docs/BENCHMARKS.md, "Runs side by side"): a second thread speeds one run by 0.93–1.39× at widths
    /// 32–512, while two one-thread runs side by side finish a pair 1.04–2.4× sooner than one after another.
    public static let oneThreadBelow = 1e11

    /// The run's threads: its config's own `threads` if it sets them, else one or every core by its size.
    public func threads(for config: TrainingConfig) -> Int {
        if let threads = config.threads { return threads }
        let perStep = ((try? config.model.trainingFLOPsPerToken()) ?? .infinity) * Double(config.tokensPerStep)
        return perStep < Self.oneThreadBelow ? 1 : cores
    }

    /// Which of the queued runs (their threads, in queue order) starts next: the first that fits in the
    /// `free` cores; when nothing runs, the first, even if it asks for more than there are.
    static func next(_ needs: [Int], free: Int, idle: Bool) -> Int? {
        needs.firstIndex { $0 <= free } ?? (idle && !needs.isEmpty ? 0 : nil)
    }
}

/// How many runs a local study trains at once: `--jobs N`, or `--jobs auto` (as many as the cores hold,
/// each on its ``RunThreads``).
public enum JobCount: Hashable, Sendable, LosslessStringConvertible {
    case fixed(Int)
    case auto

    public init?(_ description: String) {
        if description.lowercased() == "auto" { self = .auto; return }
        guard let n = Int(description), n >= 1 else { return nil }
        self = .fixed(n)
    }

    public var description: String {
        switch self {
        case .fixed(let n): "\(n)"
        case .auto: "auto"
        }
    }
}
