import Foundation

/// The paper's cost model (§4.3, Eq. 1).
public enum Cost {
    /// FLOPs of one training step: M(l, w, s, V, B) = 96·B·s·l·w²·(1 + s/(6w) + V/(16·l·w)).
    public static func stepFLOPs(layers: Int, width: Int, sequenceLength: Int, vocabulary: Int, batchSize: Int) -> Double {
        let (l, w, s, v, b) = (Double(layers), Double(width), Double(sequenceLength), Double(vocabulary), Double(batchSize))
        return 96 * b * s * l * w * w * (1 + s / (6 * w) + v / (16 * l * w))
    }

    /// One run of a plan: its width, how many steps it trains, and how many times (grid trials).
    public struct Run: Codable, Sendable, Equatable {
        public var width: Int
        public var steps: Int
        public var count: Int
        public init(width: Int, steps: Int, count: Int = 1) {
            self.width = width; self.steps = steps; self.count = count
        }
    }

    /// The cost ratio of a μScaling plan to one target run, by Eq. (1): Σ runs M(wᵢ)·stepsᵢ·countᵢ over
    /// M(w_t)·steps_t. With t grid trials at the base width and one run per proxy of the target's length this
    /// is the paper's (M(w₁)·t + Σᵢ₌₂ⁿ M(wᵢ)) / M(w_t).
    public static func ratio(plan: [Run], target: Run, layers: Int, sequenceLength: Int, vocabulary: Int, batchSize: Int) -> Double {
        func flops(_ r: Run) -> Double {
            stepFLOPs(layers: layers, width: r.width, sequenceLength: sequenceLength, vocabulary: vocabulary, batchSize: batchSize)
                * Double(r.steps) * Double(r.count)
        }
        return plan.map(flops).reduce(0, +) / flops(target)
    }
}
