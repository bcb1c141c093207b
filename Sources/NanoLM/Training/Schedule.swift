import Foundation

/// The learning-rate schedule of the paper's Appendix C (warmup, then cosine to `final_cosine`), plus
/// constant and linear decay. It gives the base learning rate at a step; each parameter's μP
/// multiplier applies on top.
public struct Schedule: Codable, Hashable, Sendable {
    public enum Decay: String, Codable, Sendable { case cosine, linear, constant }

    public var decay: Decay
    /// Peak learning rate (the μTransferable l).
    public var peak: Double
    /// Steps of linear warmup from 0 to `peak`.
    public var warmupSteps: Int
    /// Total training steps.
    public var totalSteps: Int
    /// The floor that cosine and linear decay reach at `totalSteps` (nanoT5's final_cosine).
    public var floor: Double

    public init(decay: Decay = .cosine, peak: Double, warmupSteps: Int, totalSteps: Int, floor: Double = 1e-5) {
        self.decay = decay
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.floor = floor
    }

    /// The learning rate for update number `step` (0-based).
    ///
    /// warmup (step < w):  peak · (step + 1) / w
    /// cosine:             floor + (peak − floor) · ½ · (1 + cos(π · t)),  t = (step − w) / (total − w)
    /// linear:             peak + (floor − peak) · t
    /// constant:           peak
    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        let span = Swift.max(totalSteps - warmupSteps, 1)
        let t = Swift.min(Double(step - warmupSteps) / Double(span), 1)
        switch decay {
        case .constant: return peak
        case .linear: return peak + (floor - peak) * t
        case .cosine: return floor + (peak - floor) * 0.5 * (1 + cos(Double.pi * t))
        }
    }
}
