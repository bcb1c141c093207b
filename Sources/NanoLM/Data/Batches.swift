import Foundation
import ModelSpec
import Torch

/// Where a trainer gets its batches. A batch is a pure function of (data seed, step, micro-batch), never
/// of the model, so every width of a μScaling series sees the same batches in the same order and a
/// resumed run continues exactly.
public protocol BatchSource {
    /// Training batch for optimizer step `step` (0-based) and gradient-accumulation slot `micro`.
    func trainingBatch(step: Int, micro: Int) throws -> Batch
    /// Windows `windows` of the validation split, one row each: window j is the j-th run of
    /// ``validationWindowTokens`` tokens from the start of the split, back to back, and any random choice in it
    /// (a mask, a span) is seeded by ``validationSeed`` and j alone. So a window is the same for every model,
    /// width, data seed and batch size: only the objective and the sequence length define it.
    func validationBatch(windows: [Int]) throws -> Batch
    /// How many whole windows the validation split holds.
    var validationWindowCount: Int { get }
    /// Raw tokens one validation window consumes (causal LM: its targets; the window reads one token more).
    var validationWindowTokens: Int { get }
    /// The validation split's documents and domains, for the standard errors (nil: unknown; they then fall
    /// back to batch means over consecutive windows).
    var validationLayout: ValidationLayout? { get }
}

extension BatchSource {
    public var validationLayout: ValidationLayout? { nil }

    /// The (domain, document) of each of `windows`, when the layout is known.
    func validationGroups(_ windows: [Int]) -> [WindowGroup]? {
        validationLayout.map { layout in windows.map { layout.group(ofWindowAt: $0 * validationWindowTokens) } }
    }
}

/// Seeds the random parts of validation windows (masks, spans): a constant, not the data seed, so runs with
/// different data seeds are measured on the same set.
public let validationSeed: UInt64 = 0x5EED_0F_7E57

/// Where validation window `j` of `length` tokens starts (back to back from the split's start), with `random`
/// reseeded for its masks or spans by (``validationSeed``, j).
func validationWindowStart(_ j: Int, length: Int, random: inout CounterRandom) -> Int {
    random = CounterRandom(seed: validationSeed, 1, j)
    return j * length
}

/// Checks validation windows against what the split holds.
func checkValidationWindows(_ windows: [Int], count: Int) throws {
    guard !windows.isEmpty, windows.allSatisfy({ (0 ..< count).contains($0) }) else {
        throw ModelError.invalidConfiguration("validation windows \(windows.prefix(4))… lie outside the \(count) windows the validation split holds")
    }
}

/// A counter-based generator: the same (seed, counters) always give the same numbers, with no state to
/// save or restore (SplitMix64 over a mixed key).
public struct CounterRandom {
    var state: UInt64

    public init(seed: UInt64, _ counters: Int...) {
        self.init(seed: seed, counters: counters)
    }

    public init(seed: UInt64, counters: [Int]) {
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

    /// A uniformly random permutation of 0..<n (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0 ..< n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, next(below: i + 1)) } }
        return p
    }
}

// MARK: - Token streams

/// A read-only sequence of token ids: an in-memory array or memory-mapped shards (``ShardSet``).
public protocol TokenStream {
    /// Number of tokens.
    var count: Int { get }
    /// Tokens [start, start + length), which must lie inside the stream.
    func tokens(from start: Int, count length: Int) -> [Int32]
}

extension Array: TokenStream where Element == Int32 {
    public func tokens(from start: Int, count length: Int) -> [Int32] { Array(self[start ..< start + length]) }
}

/// The ids with a special meaning to the batch builders, as the tokenizer defines them. Stored in the
/// shard index so a shard directory is self-describing.
public struct SpecialTokens: Codable, Equatable, Sendable {
    /// Rows of the embedding matrix (the tokenizer's vocabulary padded to a multiple of 64).
    public var vocabularySize: Int
    /// `<|endoftext|>`, written between documents.
    public var eos: Int
    /// BERT's `[MASK]`.
    public var mask: Int
    /// `[PAD]`; also T5's decoder start id (as in T5, where pad = start = 0).
    public var pad: Int
    /// T5's sentinels in order (`<extra_id_0>`, `<extra_id_1>`, …). Empty: id vocabularySize − 1 − i,
    /// descending from the top of the vocabulary (T5's and Hugging Face's convention).
    public var sentinels: [Int]
    /// MLM's random replacements are drawn uniformly from 0..<randomTokenBound, skipping special ids.
    public var randomTokenBound: Int

    public init(vocabularySize: Int, eos: Int, mask: Int, pad: Int, sentinels: [Int] = [], randomTokenBound: Int? = nil) {
        self.vocabularySize = vocabularySize
        self.eos = eos
        self.mask = mask
        self.pad = pad
        self.sentinels = sentinels
        self.randomTokenBound = randomTokenBound ?? vocabularySize
    }

    /// Id of sentinel number `i` (0-based).
    public func sentinel(_ i: Int) -> Int { i < sentinels.count ? sentinels[i] : vocabularySize - 1 - i }

    /// Ids never masked, replaced or drawn as random tokens.
    public var specialIDs: Set<Int> { Set([eos, mask, pad] + sentinels) }

    /// What is wrong with these ids (nil: nothing): every id inside the vocabulary, and some id below
    /// `randomTokenBound` that is not special, so MLM's random replacement has something to draw.
    public var problem: String? {
        guard (2 ... Limits.vocabularySize).contains(vocabularySize) else {
            return "vocabularySize must be in 2...\(Limits.vocabularySize), got \(vocabularySize)"
        }
        let ids = [("eos", eos), ("mask", mask), ("pad", pad)] + sentinels.enumerated().map { ("sentinels[\($0)]", $1) }
        if let (name, id) = ids.first(where: { !(0 ..< vocabularySize).contains($0.1) }) {
            return "\(name) is \(id), outside the vocabulary 0..<\(vocabularySize)"
        }
        guard (1 ... vocabularySize).contains(randomTokenBound) else {
            return "randomTokenBound must be in 1...vocabularySize (\(vocabularySize)), got \(randomTokenBound)"
        }
        let special = specialIDs
        guard (0 ..< randomTokenBound).contains(where: { !special.contains($0) }) else {   // ≤ special.count + 1 tests
            return "every id below randomTokenBound \(randomTokenBound) is special: MLM has no random token to draw"
        }
        return nil
    }
}

/// Checks a batch shape against ``Limits`` before anything computes with it.
func checkBatchShape(batchSize: Int, sequenceLength: Int, objective: String) throws {
    guard (1 ... Limits.batchSize).contains(batchSize), (1 ... Limits.sequenceLength).contains(sequenceLength),
          batchSize * sequenceLength <= Limits.tokensPerMicroBatch else {
        throw ModelError.invalidConfiguration(
            "\(objective) batches of \(batchSize) × \(sequenceLength) tokens: the batch size must be in 1...\(Limits.batchSize), the sequence length in 1...\(Limits.sequenceLength), and their product at most \(Limits.tokensPerMicroBatch) tokens")
    }
}

// MARK: - Causal LM

/// Causal-LM batches from token streams: each row is a window of sequenceLength + 1 tokens at a
/// position drawn from (seed, step, micro, row); inputs are its first T tokens, targets the last T.
/// Documents are packed (EOS between them), as in GPT-2 and nanoGPT.
public struct CausalLMBatches: BatchSource {
    /// The validation split's documents and domains, found when first asked for (nil: unknown).
    public var validationLayoutSource: LazyValidationLayout?
    public var validationLayout: ValidationLayout? { validationLayoutSource?.layout }
    public let training: any TokenStream
    public let validation: any TokenStream
    public let batchSize: Int
    public let sequenceLength: Int
    public let seed: UInt64

    public init(training: [Int32], validation: [Int32], batchSize: Int, sequenceLength: Int, seed: UInt64) throws {
        try self.init(trainingStream: training, validationStream: validation, batchSize: batchSize,
                      sequenceLength: sequenceLength, seed: seed)
    }

    public init(trainingStream training: any TokenStream, validationStream validation: any TokenStream,
                batchSize: Int, sequenceLength: Int, seed: UInt64) throws {
        try checkBatchShape(batchSize: batchSize, sequenceLength: sequenceLength, objective: "causal LM")
        try checkStreams(training, validation, window: sequenceLength + 1, objective: "causal LM")
        self.training = training
        self.validation = validation
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.seed = seed
    }

    public func trainingBatch(step: Int, micro: Int) throws -> Batch {
        try batch(from: training, random: CounterRandom(seed: seed, 0, step, micro))
    }

    public var validationWindowCount: Int { (validation.count - 1) / sequenceLength }
    public var validationWindowTokens: Int { sequenceLength }

    /// Window j reads tokens [j·T, j·T + T] and predicts the last T of them: the windows' targets tile the split.
    public func validationBatch(windows: [Int]) throws -> Batch {
        try checkValidationWindows(windows, count: validationWindowCount)
        return try batch(from: validation, rows: windows.count) { row, _ in windows[row] * sequenceLength }
    }

    func batch(from tokens: any TokenStream, random: CounterRandom) throws -> Batch {
        var random = random
        return try batch(from: tokens, rows: batchSize) { _, t in random.next(below: tokens.count - t) }
    }

    /// Rows of T + 1 tokens starting where `start(row, T)` says.
    func batch(from tokens: any TokenStream, rows: Int, start: (Int, Int) -> Int) throws -> Batch {
        let t = sequenceLength
        var inputs = [Int64](repeating: 0, count: rows * t)
        var targets = [Int64](repeating: 0, count: rows * t)
        for row in 0 ..< rows {
            let window = tokens.tokens(from: start(row, t), count: t + 1)
            for j in 0 ..< t {
                inputs[row * t + j] = Int64(window[j])
                targets[row * t + j] = Int64(window[j + 1])
            }
        }
        return Batch(inputs: try Tensor(inputs, shape: [rows, t]),     // [B, T]
                     targets: try Tensor(targets, shape: [rows, t]))   // [B, T]
    }
}

func checkStreams(_ training: any TokenStream, _ validation: any TokenStream, window: Int, objective: String) throws {
    guard training.count > window, validation.count > window else {
        throw ModelError.invalidConfiguration(
            "the data has \(training.count) training and \(validation.count) validation tokens; \(objective) windows of \(window) tokens need more than that in each split")
    }
}

// MARK: - Corrupted windows (BERT, T5)

/// Batches whose rows are windows of ``windowLength`` raw tokens corrupted by seeded draws (BERT's masks,
/// T5's spans): training rows start at positions drawn from (seed, step, micro); validation window j is
/// the j-th run of ``windowLength`` tokens, its draws seeded by (``validationSeed``, j). A conforming type
/// says how long a window is and how a row is built; the rest of ``BatchSource`` follows from that.
public protocol CorruptedWindowBatches: BatchSource {
    var training: any TokenStream { get }
    var validation: any TokenStream { get }
    var batchSize: Int { get }
    var seed: UInt64 { get }
    /// Raw tokens one row reads.
    var windowLength: Int { get }
    /// Rows of ``windowLength`` raw tokens starting where `start(row, &random)` says (it may also reseed
    /// the row's draws), corrupted by draws from `random`.
    func batch(from tokens: any TokenStream, rows: Int, random: inout CounterRandom,
               start: (Int, inout CounterRandom) -> Int) throws -> Batch
}

extension CorruptedWindowBatches {
    public func trainingBatch(step: Int, micro: Int) throws -> Batch {
        var random = CounterRandom(seed: seed, 0, step, micro)
        return try batch(from: training, rows: batchSize, random: &random) { _, random in
            random.next(below: training.count - windowLength + 1)
        }
    }

    public var validationWindowCount: Int { validation.count / windowLength }
    public var validationWindowTokens: Int { windowLength }

    public func validationBatch(windows: [Int]) throws -> Batch {
        try checkValidationWindows(windows, count: validationWindowCount)
        var random = CounterRandom(seed: validationSeed)
        return try batch(from: validation, rows: windows.count, random: &random) { row, random in
            validationWindowStart(windows[row], length: windowLength, random: &random)
        }
    }
}

// MARK: - BERT masked LM

/// BERT's masked-LM batches: each row is a window of `sequenceLength` tokens; every non-special token is
/// selected with probability `maskProbability` (0.15, the paper's mlm_probability); a selected token
/// becomes `[MASK]` 80% of the time, a random token 10%, and stays itself 10% (Devlin et al. 2019, as in
/// Hugging Face's DataCollatorForLanguageModeling). Targets hold the original id at selected positions
/// and ``Batch/ignoreIndex`` elsewhere.
public struct MaskedLMBatches: CorruptedWindowBatches {
    /// The validation split's documents and domains, found when first asked for (nil: unknown).
    public var validationLayoutSource: LazyValidationLayout?
    public var validationLayout: ValidationLayout? { validationLayoutSource?.layout }
    public let training: any TokenStream
    public let validation: any TokenStream
    public let batchSize: Int
    public let sequenceLength: Int
    public let seed: UInt64
    public let special: SpecialTokens
    public let maskProbability: Double
    let specialIDs: Set<Int>

    public init(training: any TokenStream, validation: any TokenStream, batchSize: Int, sequenceLength: Int,
                seed: UInt64, special: SpecialTokens, maskProbability: Double = 0.15) throws {
        try checkBatchShape(batchSize: batchSize, sequenceLength: sequenceLength, objective: "masked LM")
        if let problem = special.problem { throw ModelError.invalidConfiguration("special tokens: \(problem)") }
        try checkStreams(training, validation, window: sequenceLength, objective: "masked LM")
        guard maskProbability > 0, maskProbability < 1 else {
            throw ModelError.invalidConfiguration("maskProbability is \(maskProbability); it must lie in (0, 1)")
        }
        self.training = training
        self.validation = validation
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.seed = seed
        self.special = special
        self.maskProbability = maskProbability
        specialIDs = special.specialIDs
    }

    /// A row reads T tokens: validation window j is tokens [j·T, (j + 1)·T), masked by draws seeded with
    /// (``validationSeed``, j).
    public var windowLength: Int { sequenceLength }

    /// Rows of T tokens starting where `start(row, &random)` says (it may also reseed the row's draws).
    public func batch(from tokens: any TokenStream, rows: Int, random: inout CounterRandom,
                      start: (Int, inout CounterRandom) -> Int) throws -> Batch {
        let t = sequenceLength
        var inputs = [Int64](repeating: 0, count: rows * t)
        var targets = [Int64](repeating: Int64(Batch.ignoreIndex), count: rows * t)
        for row in 0 ..< rows {
            let window = tokens.tokens(from: start(row, &random), count: t)
            for j in 0 ..< t {
                let id = Int(window[j])
                var input = id
                // One draw decides selection, then one decides the replacement, whatever the token:
                // the stream of draws per row does not depend on the token ids.
                let selected = random.nextUnit() < maskProbability
                let action = random.nextUnit()
                let replacement = randomToken(&random)
                if selected && !specialIDs.contains(id) {
                    targets[row * t + j] = Int64(id)
                    if action < 0.8 { input = special.mask } else if action < 0.9 { input = replacement }
                }
                inputs[row * t + j] = Int64(input)
            }
        }
        return Batch(inputs: try Tensor(inputs, shape: [rows, t]),     // [B, T]
                     targets: try Tensor(targets, shape: [rows, t]))   // [B, T], −100 unless selected
    }

    /// A uniform draw from the non-special ids below `randomTokenBound` (``SpecialTokens/problem`` makes
    /// sure there is one): rejection sampling, which with real vocabularies almost never rejects; after 64
    /// rejections (a vocabulary of mostly special ids) the draw picks the k-th non-special id directly.
    func randomToken(_ random: inout CounterRandom) -> Int {
        let bound = special.randomTokenBound
        for _ in 0 ..< 64 {
            let id = random.next(below: bound)
            if !specialIDs.contains(id) { return id }
        }
        let specialBelow = specialIDs.filter { $0 < bound }.sorted()
        var id = random.next(below: bound - specialBelow.count)
        for s in specialBelow where s <= id { id += 1 }
        return id
    }
}

// MARK: - T5 span corruption

/// T5's span corruption (Raffel et al. 2020, `t5.data.preprocessors.span_corruption`): a window of
/// `rawLength` tokens is split into alternating non-noise and noise spans (noise density 0.15, mean noise
/// span length 3, the paper's Appendix C); the encoder input keeps the non-noise tokens with one sentinel
/// per noise span, then EOS; the target is each sentinel followed by its span, then EOS. The decoder
/// input is the target shifted right behind the start id (``SpecialTokens/pad``).
public struct SpanCorruptionBatches: CorruptedWindowBatches {
    /// The validation split's documents and domains, found when first asked for (nil: unknown).
    public var validationLayoutSource: LazyValidationLayout?
    public var validationLayout: ValidationLayout? { validationLayoutSource?.layout }
    public let training: any TokenStream
    public let validation: any TokenStream
    public let batchSize: Int
    /// Encoder input length (the paper's input_length, 512).
    public let inputLength: Int
    /// Raw tokens consumed per row and the target length, from ``spanCorruptionLengths(inputLength:noiseDensity:meanNoiseSpanLength:)``.
    public let rawLength: Int
    public let targetLength: Int
    public let seed: UInt64
    public let special: SpecialTokens
    public let noiseDensity: Double
    public let meanNoiseSpanLength: Double

    public init(training: any TokenStream, validation: any TokenStream, batchSize: Int, inputLength: Int,
                seed: UInt64, special: SpecialTokens, noiseDensity: Double = 0.15, meanNoiseSpanLength: Double = 3) throws {
        try checkBatchShape(batchSize: batchSize, sequenceLength: inputLength, objective: "span-corruption")
        if let problem = special.problem { throw ModelError.invalidConfiguration("special tokens: \(problem)") }
        guard noiseDensity > 0, noiseDensity < 1, meanNoiseSpanLength >= 1, meanNoiseSpanLength.isFinite, inputLength >= 4 else {
            throw ModelError.invalidConfiguration(
                "span corruption needs 0 < noiseDensity < 1, meanNoiseSpanLength ≥ 1 and inputLength ≥ 4 (got \(noiseDensity), \(meanNoiseSpanLength), \(inputLength))")
        }
        let (raw, target) = spanCorruptionLengths(inputLength: inputLength, noiseDensity: noiseDensity,
                                                  meanNoiseSpanLength: meanNoiseSpanLength)
        try checkStreams(training, validation, window: raw, objective: "span-corruption")
        self.training = training
        self.validation = validation
        self.batchSize = batchSize
        self.inputLength = inputLength
        self.rawLength = raw
        self.targetLength = target
        self.seed = seed
        self.special = special
        self.noiseDensity = noiseDensity
        self.meanNoiseSpanLength = meanNoiseSpanLength
    }

    /// A row reads R = ``rawLength`` raw tokens: validation window j is raw tokens [j·R, (j + 1)·R), its
    /// spans drawn with (``validationSeed``, j).
    public var windowLength: Int { rawLength }

    /// Rows of ``rawLength`` raw tokens starting where `start(row, &random)` says (it may also reseed the row's draws).
    public func batch(from tokens: any TokenStream, rows b: Int, random: inout CounterRandom,
                      start: (Int, inout CounterRandom) -> Int) throws -> Batch {
        let ti = inputLength, tt = targetLength
        var inputs = [Int64](repeating: Int64(special.pad), count: b * ti)
        var targets = [Int64](repeating: Int64(Batch.ignoreIndex), count: b * tt)
        var decoderInputs = [Int64](repeating: Int64(special.pad), count: b * tt)
        for row in 0 ..< b {
            let window = tokens.tokens(from: start(row, &random), count: rawLength)
            let noise = randomSpansNoiseMask(length: rawLength, noiseDensity: noiseDensity,
                                             meanNoiseSpanLength: meanNoiseSpanLength, random: &random)
            var input: [Int64] = [], target: [Int64] = []
            input.reserveCapacity(ti); target.reserveCapacity(tt)
            var spans = 0
            for j in 0 ..< rawLength {
                if noise[j] {
                    if j == 0 || !noise[j - 1] {
                        input.append(Int64(special.sentinel(spans)))
                        target.append(Int64(special.sentinel(spans)))
                        spans += 1
                    }
                    target.append(Int64(window[j]))
                } else {
                    input.append(Int64(window[j]))
                }
            }
            input.append(Int64(special.eos))
            target.append(Int64(special.eos))
            // By construction of the lengths these fit exactly; never write past a row.
            for (j, v) in input.prefix(ti).enumerated() { inputs[row * ti + j] = v }
            for (j, v) in target.prefix(tt).enumerated() {
                targets[row * tt + j] = v
                if j + 1 < tt { decoderInputs[row * tt + j + 1] = v }
            }
        }
        return Batch(inputs: try Tensor(inputs, shape: [b, ti]),                   // [B, T_in]
                     targets: try Tensor(targets, shape: [b, tt]),                 // [B, T_out]
                     decoderInputs: try Tensor(decoderInputs, shape: [b, tt]))     // [B, T_out], start id first
    }
}

/// T5's `random_spans_helper`: the raw token count whose corrupted encoder input is exactly
/// `inputLength` long (non-noise tokens + one sentinel per span + EOS), and the resulting target length
/// (noise tokens + one sentinel per span + EOS). inputLength 512 at (0.15, 3) gives (568, 114).
public func spanCorruptionLengths(inputLength: Int, noiseDensity: Double = 0.15,
                                  meanNoiseSpanLength: Double = 3) -> (raw: Int, target: Int) {
    func lengths(_ tokens: Int) -> (inputs: Int, targets: Int) {
        let noise = Int((Double(tokens) * noiseDensity).rounded(.toNearestOrEven))
        let spans = Int((Double(noise) / meanNoiseSpanLength).rounded(.toNearestOrEven))
        return (tokens - noise + spans + 1, noise + spans + 1)
    }
    var tokens = inputLength
    while lengths(tokens + 1).inputs <= inputLength { tokens += 1 }
    var targets = lengths(tokens).targets
    if noiseDensity == 0.5 && targets > inputLength { tokens -= 1; targets -= 1 }  // T5's own adjustment
    return (tokens, targets)
}

/// T5's `random_spans_noise_mask`: exactly round(length · density) noise tokens in
/// round(noise / meanSpan) spans; span lengths are a uniformly random composition; the mask starts with
/// a non-noise span and non-noise and noise spans alternate.
public func randomSpansNoiseMask(length: Int, noiseDensity: Double, meanNoiseSpanLength: Double,
                                 random: inout CounterRandom) -> [Bool] {
    let n = max(length, 2)
    var noiseTokens = Int((Double(n) * noiseDensity).rounded(.toNearestOrEven))
    noiseTokens = min(max(noiseTokens, 1), n - 1)
    let spans = max(Int((Double(noiseTokens) / meanNoiseSpanLength).rounded(.toNearestOrEven)), 1)
    let nonNoiseTokens = n - noiseTokens
    let noiseLengths = randomSegmentation(items: noiseTokens, segments: spans, random: &random)
    let nonNoiseLengths = randomSegmentation(items: nonNoiseTokens, segments: spans, random: &random)
    var mask: [Bool] = []
    mask.reserveCapacity(n)
    for s in 0 ..< spans {
        mask += repeatElement(false, count: nonNoiseLengths[s])
        mask += repeatElement(true, count: noiseLengths[s])
    }
    return Array(mask.prefix(length))
}

/// A uniformly random split of `items` into `segments` non-empty parts (segment lengths in order):
/// choose segments − 1 of the items − 1 gaps as boundaries (selection sampling, Knuth's Algorithm S).
func randomSegmentation(items: Int, segments: Int, random: inout CounterRandom) -> [Int] {
    let k = min(segments, items)
    var lengths: [Int] = []
    lengths.reserveCapacity(segments)
    var needed = k - 1, remaining = items - 1, current = 1
    for _ in 0 ..< items - 1 {
        if needed > 0 && random.next(below: remaining) < needed {
            lengths.append(current); current = 1; needed -= 1
        } else {
            current += 1
        }
        remaining -= 1
    }
    lengths.append(current)
    while lengths.count < segments { lengths.append(0) }  // only when segments > items
    return lengths
}
