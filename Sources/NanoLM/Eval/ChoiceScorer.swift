import Foundation
import Torch

/// One choice to score: the text before it and the text of the choice (separator included).
public struct ScoringRequest: Equatable, Sendable {
    public var context: String
    public var continuation: String
    public init(context: String, continuation: String) {
        self.context = context
        self.continuation = continuation
    }
}

/// What scoring found for one choice.
public struct ChoiceScore: Equatable, Sendable {
    /// Σ log p(continuation token | everything before it), natural log.
    public var logLikelihood: Double
    /// Continuation tokens scored (for the per-token normalisation).
    public var tokens: Int
    /// The context was cut from the left to fit the model's sequence length.
    public var truncatedContext = false
    /// The continuation itself was longer than the sequence length: only its last tokens were scored.
    public var truncatedContinuation = false

    public init(logLikelihood: Double, tokens: Int, truncatedContext: Bool = false, truncatedContinuation: Bool = false) {
        self.logLikelihood = logLikelihood
        self.tokens = tokens
        self.truncatedContext = truncatedContext
        self.truncatedContinuation = truncatedContinuation
    }
}

/// Anything that gives log-likelihoods of continuations: a model (``ModelScorer``), or a stand-in in tests.
public protocol ChoiceScorer {
    /// One score per request, in order. `progress(done, total)` may be called along the way.
    func score(_ requests: [ScoringRequest], progress: (Int, Int) -> Void) throws -> [ChoiceScore]
}

/// Scores continuations under a causal model, as lm-evaluation-harness's `loglikelihood` does: the
/// continuation's tokens are encode(context + continuation) minus encode(context)'s; the input is the
/// last sequenceLength + 1 tokens of context + continuation without the final one (the context is cut from
/// the left); the score sums log_softmax(logits) at the continuation's tokens.
///
/// Requests are sorted by length and batched (right-padded; padding is masked out of the sum, and causal
/// attention keeps it from touching real positions) so that a batch's logits stay under `maxLogitElements`.
public struct ModelScorer: ChoiceScorer {
    public let model: any CausalLanguageModel
    public let codec: any TokenCodec
    /// Most sequences per forward pass.
    public var maxBatchSize = 64
    /// Bound on B·T·V floats of one batch's logits (default 2²⁶: 256 MiB of float32).
    public var maxLogitElements = 1 << 26

    public init(model: any CausalLanguageModel, codec: any TokenCodec) {
        self.model = model
        self.codec = codec
    }

    /// Context and continuation tokens for one request (the context is EOS when empty, as in lm-eval).
    public func encode(_ r: ScoringRequest) -> (context: [Int32], continuation: [Int32]) {
        let context = codec.encode(r.context)
        let whole = codec.encode(r.context + r.continuation)
        var continuation = whole.starts(with: context) ? Array(whole[context.count...]) : codec.encode(r.continuation)
        if continuation.isEmpty { continuation = codec.encode(r.continuation) }
        return (context.isEmpty ? [Int32(codec.special.eos)] : context, continuation)
    }

    /// One request laid out for the model.
    struct Window {
        var input: [Int32]     // ≤ sequenceLength tokens
        var targets: [Int32]   // input.count tokens: the next token at each position
        var scored: Int        // the last `scored` positions are the continuation's
        var truncatedContext: Bool
        var truncatedContinuation: Bool
    }

    func window(_ r: ScoringRequest) throws -> Window {
        let (context, continuation) = encode(r)
        guard !continuation.isEmpty else { throw EvalError.model("a choice encodes to no tokens: \"\(r.continuation)\"") }
        let n = model.maxSequenceLength
        let all = context + continuation
        let kept = Array(all.suffix(n + 1))                       // sequenceLength + 1 tokens at most
        let scored = min(continuation.count, kept.count - 1)
        return Window(input: Array(kept.dropLast()), targets: Array(kept.dropFirst()), scored: scored,
                      truncatedContext: all.count > n + 1,
                      truncatedContinuation: continuation.count > scored)
    }

    public func score(_ requests: [ScoringRequest], progress: (Int, Int) -> Void = { _, _ in }) throws -> [ChoiceScore] {
        let windows = try requests.map(window)
        // Longest first, so each batch pads little and the first batch shows the worst memory.
        let order = windows.indices.sorted { windows[$0].input.count > windows[$1].input.count }
        var out = [ChoiceScore?](repeating: nil, count: requests.count)
        var start = 0
        try withNoGrad {
            while start < order.count {
                let longest = windows[order[start]].input.count
                let size = max(1, min(maxBatchSize, maxLogitElements / (longest * model.vocabularySize), order.count - start))
                let batch = Array(order[start ..< start + size])
                let sums = try forward(batch.map { windows[$0] }, length: longest)
                for (k, i) in batch.enumerated() {
                    let w = windows[i]
                    out[i] = ChoiceScore(logLikelihood: sums[k], tokens: w.scored, truncatedContext: w.truncatedContext,
                                         truncatedContinuation: w.truncatedContinuation)
                }
                start += size
                progress(start, order.count)
            }
        }
        return out.map { $0! }
    }

    /// Σ log p over the scored positions of each window, in one forward pass.
    func forward(_ batch: [Window], length t: Int) throws -> [Double] {
        let b = batch.count
        var ids = [Int64](repeating: 0, count: b * t)
        var targets = [Int64](repeating: 0, count: b * t)
        var mask = [Double](repeating: 0, count: b * t)
        for (row, w) in batch.enumerated() {
            for (p, id) in w.input.enumerated() { ids[row * t + p] = Int64(id) }
            for (p, id) in w.targets.enumerated() { targets[row * t + p] = Int64(id) }
            for p in (w.input.count - w.scored) ..< w.input.count { mask[row * t + p] = 1 }
        }
        let device = model.device
        let logits = try model.logits(Tensor(ids, shape: [b, t], device: device), training: false)  // [B, T, V]
        let logProbs = try logits.to(.float32).logSoftmax(dim: 2)                              // [B, T, V]
        let picked = try logProbs.gather(dim: 2, index: Tensor(targets, shape: [b, t, 1], device: device)).squeeze(2)  // [B, T]
        let sums = try (picked.to(.float64) * Tensor(mask, shape: [b, t], device: device)).sum(dim: 1)  // [B]
        return try sums.toArray(Double.self)
    }
}
