/// Upper bounds on the sizes a file or a flag may give. Each is far above anything nanolm can train and
/// low enough that every count, product and conversion computed from values inside them fits an Int:
/// the largest parameter count they allow (T5, every size at its bound) is below 2⁶⁰, a micro-batch's
/// token arrays stay below 2²⁴ elements, and total tokens are checked against ``totalTokens``. Readers
/// check them where the value enters, so an error names the file or flag instead of a trap later.
public enum Limits {
    /// d_model (GPT-3 175B: 12,288).
    public static let width = 1 << 20
    /// Transformer blocks (GPT-3: 96).
    public static let layers = 1 << 10
    /// Vocabulary rows; token ids are below it (tokenizer files allow ids below 2²⁴ too).
    public static let vocabularySize = 1 << 24
    /// Tokens per sequence.
    public static let sequenceLength = 1 << 20
    /// MLP width as a multiple of d_model (GPT: 4; Llama: 8/3).
    public static let ffnRatio = 64.0
    /// Sequences per micro-batch, and micro-batches per step.
    public static let batchSize = 1 << 20
    /// batch × sequence length of one micro-batch: the token arrays a batch builds (2²⁴ = 16.8 M tokens;
    /// larger batches are accumulated over micro-batches).
    public static let tokensPerMicroBatch = 1 << 24
    /// Optimizer steps of one run.
    public static let steps = 1 << 40
    /// Tokens of one run (steps × tokens per step).
    public static let totalTokens = 1 << 62
    /// Items per generated evaluation task.
    public static let itemsPerTask = 1_000_000
    /// Over-training token multiplier M = D/N (Gadre et al. go to 640).
    public static let tokenMultiplier = 1e6

    /// `value` lies in `range`, or an error message naming `field`: "field 'x' must be in 1...1048576, got 0".
    package static func check(_ value: Int, in range: ClosedRange<Int>, _ field: String) -> String? {
        range.contains(value) ? nil : "field '\(field)' must be in \(range.lowerBound)...\(range.upperBound), got \(value)"
    }

    /// A finite `value` in `range`, or a message naming `field` (NaN and ±infinity are outside every range).
    package static func check(_ value: Double, in range: ClosedRange<Double>, _ field: String) -> String? {
        value.isFinite && range.contains(value) ? nil : "field '\(field)' must be a number in \(range.lowerBound)...\(range.upperBound), got \(value)"
    }
}
