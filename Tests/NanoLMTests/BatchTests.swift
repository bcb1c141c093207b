import Foundation
import XCTest
import Torch
@testable import NanoLM

/// The batch builders for the three objectives. References: T5's published lengths (568/114 at input
/// 512), BERT's 15% and 80/10/10, and reconstructions of the original text from the corrupted batches.
final class BatchTests: XCTestCase {
    /// Tokens 0, 1, 2, … (mod `vocab`), with EOS (id `eos`) every 97 tokens: each id tells its position.
    static func stream(_ n: Int, vocab: Int = 1000, eos: Int = 1000) -> [Int32] {
        (0 ..< n).map { i in i % 97 == 96 ? Int32(eos) : Int32(i % vocab) }
    }

    static let special = SpecialTokens(vocabularySize: 1024, eos: 1000, mask: 1001, pad: 1002,
                                       sentinels: [], randomTokenBound: 1000)

    func ints(_ t: Tensor?) throws -> [Int] { try XCTUnwrap(t).toArray(Int64.self).map { Int($0) } }

    // MARK: causal

    func testCausalTargetsAreInputsShiftedByOne() throws {
        let data = try CausalLMBatches(training: Self.stream(5000), validation: Self.stream(800), batchSize: 4,
                                       sequenceLength: 32, seed: 7)
        let b = try data.trainingBatch(step: 3, micro: 1)
        XCTAssertEqual(b.inputs.shape, [4, 32])
        XCTAssertEqual(b.targets.shape, [4, 32])
        let x = try ints(b.inputs), y = try ints(b.targets)
        for row in 0 ..< 4 {
            XCTAssertEqual(Array(x[(row * 32 + 1) ..< (row * 32 + 32)]), Array(y[(row * 32) ..< (row * 32 + 31)]))
        }
    }

    /// Batches are a function of (seed, step, micro) only: two μScaling runs at widths 64 and 256 build
    /// their sources from the same data settings and must see the same tensors, step after step.
    func testSameBatchesAtEveryWidth() throws {
        let tokens = Self.stream(20000)
        func source(forWidth width: Int, _ objective: DataObjective) throws -> any BatchSource {
            _ = ModelConfig(architecture: .gpt, layers: 2, width: width, vocabularySize: 1024, sequenceLength: 64, headDim: 16)
            switch objective {
            case .causal: return try CausalLMBatches(training: tokens, validation: tokens, batchSize: 4, sequenceLength: 64, seed: 11)
            case .masked: return try MaskedLMBatches(training: tokens, validation: tokens, batchSize: 4, sequenceLength: 64, seed: 11, special: Self.special)
            case .spans: return try SpanCorruptionBatches(training: tokens, validation: tokens, batchSize: 4, inputLength: 64, seed: 11, special: Self.special)
            }
        }
        for objective in DataObjective.allCases {
            let narrow = try source(forWidth: 64, objective), wide = try source(forWidth: 256, objective)
            for step in 0 ..< 5 {
                let a = try narrow.trainingBatch(step: step, micro: 0), b = try wide.trainingBatch(step: step, micro: 0)
                XCTAssertEqual(try ints(a.inputs), try ints(b.inputs), "\(objective) step \(step)")
                XCTAssertEqual(try ints(a.targets), try ints(b.targets), "\(objective) step \(step)")
                XCTAssertEqual(try a.decoderInputs.map(ints), try b.decoderInputs.map(ints))
            }
            // …and the batches do change with the step, the micro-batch and the seed.
            let s0 = try ints(narrow.trainingBatch(step: 0, micro: 0).inputs)
            XCTAssertNotEqual(s0, try ints(narrow.trainingBatch(step: 1, micro: 0).inputs), "\(objective)")
            XCTAssertNotEqual(s0, try ints(narrow.trainingBatch(step: 0, micro: 1).inputs), "\(objective)")
            XCTAssertNotEqual(s0, try ints(narrow.validationBatch(windows: Array(0 ..< 4)).inputs), "\(objective)")
        }
    }

    func testTooShortDataIsAnErrorNotACrash() {
        XCTAssertThrowsError(try CausalLMBatches(training: Self.stream(10), validation: Self.stream(10), batchSize: 1, sequenceLength: 16, seed: 0))
        XCTAssertThrowsError(try SpanCorruptionBatches(training: Self.stream(500), validation: Self.stream(500), batchSize: 1,
                                                       inputLength: 512, seed: 0, special: Self.special))
    }

    // MARK: BERT

    func testMaskedLMStatistics() throws {
        let tokens = Self.stream(50000)
        let data = try MaskedLMBatches(training: tokens, validation: tokens, batchSize: 16, sequenceLength: 128, seed: 5,
                                       special: Self.special)
        var positions = 0, selected = 0, masked = 0, random = 0, kept = 0, eosSelected = 0
        for step in 0 ..< 60 {  // 60 × 16 × 128 = 122,880 positions
            let b = try data.trainingBatch(step: step, micro: 0)
            let x = try ints(b.inputs), y = try ints(b.targets)
            for i in x.indices {
                positions += 1
                guard y[i] != Batch.ignoreIndex else {
                    XCTAssertNotEqual(x[i], Self.special.mask)
                    continue
                }
                selected += 1
                if y[i] == Self.special.eos { eosSelected += 1 }
                if x[i] == Self.special.mask { masked += 1 } else if x[i] == y[i] { kept += 1 } else {
                    random += 1
                    XCTAssertLessThan(x[i], 1000, "random replacements are regular tokens")
                }
            }
        }
        XCTAssertEqual(eosSelected, 0, "special tokens are never selected")
        // Non-special share is 96/97; selection probability 0.15 per regular token.
        let rate = Double(selected) / (Double(positions) * 96 / 97)
        XCTAssertEqual(rate, 0.15, accuracy: 0.005)  // σ ≈ 0.001
        XCTAssertEqual(Double(masked) / Double(selected), 0.8, accuracy: 0.015)
        XCTAssertEqual(Double(random) / Double(selected), 0.1, accuracy: 0.01)
        XCTAssertEqual(Double(kept) / Double(selected), 0.1, accuracy: 0.01)
    }

    // MARK: T5

    func testT5LengthsMatchRandomSpansHelper() {
        // t5.data.preprocessors.random_spans_helper(512, 0.15, 3.0) = (568, 114), as used by T5 and nanoT5.
        XCTAssertTrue(spanCorruptionLengths(inputLength: 512) == (568, 114))
        // Hand computed for 128: raw 141 has noise round(21.15) = 21, spans round(21 / 3) = 7, inputs
        // 141 − 21 + 7 + 1 = 128; raw 142 would give 142 − 21 + 7 + 1 = 129 > 128. Targets 21 + 7 + 1 = 29.
        XCTAssertTrue(spanCorruptionLengths(inputLength: 128) == (141, 29))
    }

    func testNoiseMaskShape() {
        var random = CounterRandom(seed: 1)
        for _ in 0 ..< 50 {
            let mask = randomSpansNoiseMask(length: 568, noiseDensity: 0.15, meanNoiseSpanLength: 3, random: &random)
            XCTAssertEqual(mask.count, 568)
            XCTAssertEqual(mask.filter { $0 }.count, 85)                                    // round(568 × 0.15)
            XCTAssertFalse(mask[0], "T5's mask starts with a non-noise span")
            let spans = zip(mask, [false] + mask.dropLast()).filter { $0 && !$1 }.count
            XCTAssertEqual(spans, 28)                                                       // round(85 / 3)
        }
    }

    /// Over many batches: the target spans, put back in place of their sentinels, give back the
    /// original window; noise density ≈ 0.15 and mean span length ≈ 3; span lengths vary.
    func testSpanCorruptionRoundTripAndStatistics() throws {
        let tokens: [Int32] = (0 ..< 30000).map { Int32($0 % 1000) }  // no EOS: consecutive ids
        let data = try SpanCorruptionBatches(training: tokens, validation: tokens, batchSize: 8, inputLength: 128, seed: 9,
                                             special: Self.special)
        XCTAssertEqual(data.rawLength, 141)
        XCTAssertEqual(data.targetLength, 29)
        var noise = 0, raw = 0, spanLengths: [Int] = []
        for step in 0 ..< 40 {
            let b = try data.trainingBatch(step: step, micro: 0)
            XCTAssertEqual(b.inputs.shape, [8, 128])
            XCTAssertEqual(b.targets.shape, [8, 29])
            XCTAssertEqual(b.decoderInputs?.shape, [8, 29])
            let x = try ints(b.inputs), y = try ints(b.targets), d = try ints(b.decoderInputs)
            for row in 0 ..< 8 {
                let input = Array(x[(row * 128) ..< (row * 128 + 128)]), target = Array(y[(row * 29) ..< (row * 29 + 29)])
                let decoder = Array(d[(row * 29) ..< (row * 29 + 29)])
                XCTAssertEqual(decoder, [Self.special.pad] + target.dropLast(), "decoder inputs = targets shifted right")
                XCTAssertEqual(input.last, Self.special.eos)
                XCTAssertEqual(target.last, Self.special.eos)
                // Spans of the target, keyed by sentinel.
                var spans: [Int: [Int]] = [:], current: Int?
                for id in target.dropLast() {
                    if id > 1000 { current = id; spans[id] = [] } else { spans[current!]!.append(id) }
                }
                var restored: [Int] = []
                var sentinel = 0
                for id in input.dropLast() {
                    if id > 1000 {
                        XCTAssertEqual(id, Self.special.sentinel(sentinel), "sentinels descend from the top of the vocabulary")
                        sentinel += 1
                        restored += try XCTUnwrap(spans[id])
                    } else { restored.append(id) }
                }
                XCTAssertEqual(restored.count, 141)
                for k in 1 ..< restored.count { XCTAssertEqual(restored[k], (restored[k - 1] + 1) % 1000, "row \(row) position \(k)") }
                noise += spans.values.reduce(0) { $0 + $1.count }
                raw += restored.count
                spanLengths += spans.values.map(\.count)
            }
        }
        XCTAssertEqual(Double(noise) / Double(raw), 0.15, accuracy: 0.005)
        let mean = Double(spanLengths.reduce(0, +)) / Double(spanLengths.count)
        XCTAssertEqual(mean, 3.0, accuracy: 0.1)
        XCTAssertTrue(spanLengths.allSatisfy { $0 >= 1 })
        XCTAssertGreaterThan(Set(spanLengths).count, 4, "span lengths are random, not all equal")
    }

    func testRandomSegmentationIsAComposition() {
        var random = CounterRandom(seed: 3)
        var firstLengths = [Int](repeating: 0, count: 8)
        for _ in 0 ..< 4000 {
            let parts = randomSegmentation(items: 10, segments: 3, random: &random)
            XCTAssertEqual(parts.count, 3)
            XCTAssertEqual(parts.reduce(0, +), 10)
            XCTAssertTrue(parts.allSatisfy { $0 >= 1 })
            firstLengths[parts[0] - 1] += 1
        }
        // Uniform over the C(9,2) = 36 compositions: the first part is k with probability (9 − k) / 36.
        for k in 1 ... 8 {
            XCTAssertEqual(Double(firstLengths[k - 1]) / 4000, Double(9 - k) / 36, accuracy: 0.025, "first part = \(k)")
        }
    }
}
