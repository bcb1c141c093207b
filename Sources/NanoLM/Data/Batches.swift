import Foundation
import Torch

/// Where a trainer gets its batches. A batch is a pure function of (data seed, step, micro-batch), never
/// of the model, so every width of a μScaling series sees the same batches in the same order and a
/// resumed run continues exactly.
public protocol BatchSource {
    /// Training batch for optimizer step `step` (0-based) and gradient-accumulation slot `micro`.
    func trainingBatch(step: Int, micro: Int) throws -> Batch
    /// Held-out batch number `index`.
    func validationBatch(_ index: Int) throws -> Batch
}

/// A counter-based generator: the same (seed, counters) always give the same numbers, with no state to
/// save or restore (SplitMix64 over a mixed key).
public struct CounterRandom {
    var state: UInt64

    public init(seed: UInt64, _ counters: Int...) {
        var s = seed &* 0x9E37_79B9_7F4A_7C15
        for c in counters { s = CounterRandom.mix(s ^ (UInt64(bitPattern: Int64(c)) &+ 0x632B_E59B_D9B4_E019)) }
        state = s
    }

    static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0 &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        return CounterRandom.mix(state)
    }

    /// Uniform in 0..<bound.
    public mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Causal-LM batches from token streams: each row is a window of sequenceLength + 1 tokens at a
/// position drawn from (seed, step, micro, row); inputs are its first T tokens, targets the last T.
public struct CausalLMBatches: BatchSource {
    public let training: [Int32]
    public let validation: [Int32]
    public let batchSize: Int
    public let sequenceLength: Int
    public let seed: UInt64

    public init(training: [Int32], validation: [Int32], batchSize: Int, sequenceLength: Int, seed: UInt64) throws {
        guard training.count > sequenceLength + 1, validation.count > sequenceLength + 1 else {
            throw ModelError.invalidConfiguration(
                "the data has \(training.count) training and \(validation.count) validation tokens; each needs more than sequenceLength + 1 = \(sequenceLength + 1)")
        }
        self.training = training
        self.validation = validation
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.seed = seed
    }

    public func trainingBatch(step: Int, micro: Int) throws -> Batch {
        try batch(from: training, random: CounterRandom(seed: seed, 0, step, micro))
    }

    public func validationBatch(_ index: Int) throws -> Batch {
        try batch(from: validation, random: CounterRandom(seed: seed, 1, index))
    }

    func batch(from tokens: [Int32], random: CounterRandom) throws -> Batch {
        var random = random
        let t = sequenceLength
        var inputs = [Int64](repeating: 0, count: batchSize * t)
        var targets = [Int64](repeating: 0, count: batchSize * t)
        for row in 0 ..< batchSize {
            let start = random.next(below: tokens.count - t)
            for j in 0 ..< t {
                inputs[row * t + j] = Int64(tokens[start + j])
                targets[row * t + j] = Int64(tokens[start + j + 1])
            }
        }
        return Batch(inputs: try Tensor(inputs, shape: [batchSize, t]),     // [B, T]
                     targets: try Tensor(targets, shape: [batchSize, t]))   // [B, T]
    }
}
