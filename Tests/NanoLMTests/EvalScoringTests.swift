import Foundation
import XCTest
import Torch
@testable import NanoLM

/// Letters "a", "b", "c" as ids 0, 1, 2 and EOS 3: a codec small enough to compute by hand.
struct ABCCodec: TokenCodec {
    var name: String { "abc" }
    var hash: String { "abc" }
    var special: SpecialTokens { SpecialTokens(vocabularySize: 4, eos: 3, mask: 3, pad: 3) }
    func encode(_ text: String) -> [Int32] { text.utf8.map { Int32($0) - 97 } }
    func decode(_ ids: [Int32]) -> String { String(decoding: ids.map { UInt8($0 + 97) }, as: UTF8.self) }
    func save(to directory: URL) throws {}
}

/// A bigram model: the next token's distribution depends on the current token only (rows of `table`).
final class BigramModel: CausalLanguageModel {
    static let probabilities: [[Double]] = [
        [0.25, 0.5, 0.125, 0.125],    // after a
        [0.5, 0.125, 0.25, 0.125],    // after b
        [0.125, 0.125, 0.5, 0.25],    // after c
        [0.25, 0.25, 0.25, 0.25],     // after EOS
    ]
    let table: Tensor
    let maxSequenceLength: Int
    var vocabularySize: Int { 4 }
    var device: Device { .cpu }

    init(maxSequenceLength: Int) throws {
        self.maxSequenceLength = maxSequenceLength
        table = try Tensor(Self.probabilities.flatMap { $0.map { Float(Foundation.log($0)) } }, shape: [4, 4])
    }

    /// ids [B, T] → logits [B, T, 4] = log p(· | ids[b, t])
    func logits(_ ids: Tensor, training: Bool) throws -> Tensor {
        XCTAssertLessThanOrEqual(ids.shape[1], maxSequenceLength, "the scorer fed more tokens than the sequence length")
        return try table.embedding(ids)
    }
}

/// Scoring: a hand computation on a bigram model, and the batched scorer against an unbatched
/// log_softmax/gather written out here for GPT and Llama.
final class EvalScoringTests: XCTestCase {
    func testLogLikelihoodsEqualAHandComputation() throws {
        let scorer = ModelScorer(model: try BigramModel(maxSequenceLength: 8), codec: ABCCodec())
        let scores = try scorer.score([
            ScoringRequest(context: "ab", continuation: "c"),    // p(c|b) = 1/4
            ScoringRequest(context: "ab", continuation: "cc"),   // p(c|b)·p(c|c) = 1/4 · 1/2
            ScoringRequest(context: "ab", continuation: "a"),    // p(a|b) = 1/2
            ScoringRequest(context: "", continuation: "ba"),     // p(b|EOS)·p(a|b) = 1/4 · 1/2 (empty context → EOS)
        ], progress: { _, _ in })
        let expected = [log(0.25), log(0.125), log(0.5), log(0.125)]
        for (s, e) in zip(scores, expected) { XCTAssertEqual(s.logLikelihood, e, accuracy: 1e-6) }
        XCTAssertEqual(scores.map(\.tokens), [1, 2, 1, 2])
        XCTAssertFalse(scores.contains { $0.truncatedContext || $0.truncatedContinuation })
    }

    func testLongContextsAreCutFromTheLeft() throws {
        let scorer = ModelScorer(model: try BigramModel(maxSequenceLength: 3), codec: ABCCodec())
        let s = try scorer.score([
            // a b c a b | c c: the model sees [a b c] → targets [b c c]; only the last two are scored.
            ScoringRequest(context: "abcab", continuation: "cc"),
            // a | b b b b b: a 5-token choice in a 3-token model: its last three tokens are scored (p(b|b)³).
            ScoringRequest(context: "a", continuation: "bbbbb"),
        ], progress: { _, _ in })
        XCTAssertEqual(s[0].logLikelihood, log(0.25 * 0.5), accuracy: 1e-6)
        XCTAssertTrue(s[0].truncatedContext)
        XCTAssertFalse(s[0].truncatedContinuation)
        XCTAssertEqual(s[1].logLikelihood, 3 * log(0.125), accuracy: 1e-6)
        XCTAssertEqual(s[1].tokens, 3)
        XCTAssertTrue(s[1].truncatedContinuation)
    }

    /// acc picks the best total, acc_token/acc_norm/acc_byte the best per token (= per character here).
    func testMetricsNormaliseAsLmEval() throws {
        let task = MultipleChoiceTask(name: "hand", items: [
            MultipleChoiceItem(context: "ab", choices: ["c", "cc"], answer: 1, separator: ""),   // −1.386 vs −2.079 (−1.040 per token)
            MultipleChoiceItem(context: "ab", choices: ["b", "a"], answer: 1, separator: ""),    // −2.079 vs −0.693
        ])
        let scorer = ModelScorer(model: try BigramModel(maxSequenceLength: 8), codec: ABCCodec())
        let report = try Evaluator().evaluate([task], scorer: scorer)
        let r = report.tasks[0]
        XCTAssertEqual(r.accuracy(.acc).value, 0.5)
        XCTAssertEqual(r.accuracy(.accNorm).value, 1)
        XCTAssertEqual(r.accuracy(.accToken).value, 1)
        XCTAssertEqual(r.accuracy(.accByte).value, 1)
        // Sample standard deviation of (0, 1) is √0.5; over √2 items: 0.5.
        XCTAssertEqual(r.accuracy(.acc).standardError, 0.5, accuracy: 1e-12)
        XCTAssertEqual(r.accuracy(.accNorm).standardError, 0)
        XCTAssertEqual(r.answerLogLikelihoodPerByte, (log(0.125) / 2 + log(0.5)) / 2, accuracy: 1e-6)
        XCTAssertEqual(report.error(.acc), 0.5, accuracy: 1e-12)
    }

    func testFewShotPromptsAreDeterministicAndExcludeTheItem() throws {
        let items = (0 ..< 6).map { MultipleChoiceItem(context: "q\($0)", choices: ["x\($0)", "y\($0)"], answer: $0 % 2) }
        let task = MultipleChoiceTask(name: "t", items: items)
        let evaluator = Evaluator(fewShot: 3, seed: 7)
        for i in items.indices {
            let prompt = evaluator.prompt(task, i)
            XCTAssertEqual(prompt, Evaluator(fewShot: 3, seed: 7).prompt(task, i))
            let parts = prompt.components(separatedBy: "\n\n")
            XCTAssertEqual(parts.count, 4)
            XCTAssertEqual(parts.last, "q\(i)")
            XCTAssertEqual(Set(parts.dropLast()).count, 3, "three different examples")
            for example in parts.dropLast() {
                let j = try XCTUnwrap(items.firstIndex { example == $0.solved }, "an example is a solved item: \(example)")
                XCTAssertNotEqual(j, i)
            }
        }
        XCTAssertEqual(Evaluator(fewShot: 0).prompt(task, 2), "q2")
    }

    /// The harness's batched, padded, truncated scores against one unpadded forward per request.
    func testBatchedScoresMatchAnUnbatchedComputationForGPTAndLlama() throws {
        for architecture in [Architecture.gpt, .llama] {
            let config = ModelConfig(architecture: architecture, layers: 1, width: 32, vocabularySize: 384, sequenceLength: 16,
                                     headDim: 16, parametrization: .standard)
            let model = try XCTUnwrap(makeModel(config, seed: 3) as? any CausalLanguageModel)
            let requests = [
                ScoringRequest(context: "The cat", continuation: " sat"),
                ScoringRequest(context: "x", continuation: " on the mat today"),
                ScoringRequest(context: "A much longer context than fits", continuation: " here"),
                ScoringRequest(context: "", continuation: " empty"),
                ScoringRequest(context: "a", continuation: " choice longer than sixteen bytes"),
            ]
            var scorer = ModelScorer(model: model, codec: ByteCodec())
            scorer.maxBatchSize = 2   // several batches, each padded
            let batched = try scorer.score(requests, progress: { _, _ in })
            for (r, s) in zip(requests, batched) {
                let context = r.context.isEmpty ? [Int32(256)] : r.context.utf8.map { Int32($0) }
                let continuation = r.continuation.utf8.map { Int32($0) }
                let window = Array((context + continuation).suffix(17))
                let input = window.dropLast().map { Int64($0) }
                let logits = try withNoGrad { try model.logits(Tensor(input, shape: [1, input.count]), training: false) }
                let logProbs = try logits.logSoftmax(dim: 2).toArray(Float.self)   // [1, T, 384] row-major
                let scored = min(continuation.count, input.count)
                var expected = 0.0
                for p in (input.count - scored) ..< input.count {
                    expected += Double(logProbs[p * 384 + Int(window[p + 1])])
                }
                XCTAssertEqual(s.logLikelihood, expected, accuracy: 1e-4 * max(1, abs(expected)), "\(architecture) \(r)")
                XCTAssertEqual(s.tokens, scored)
                XCTAssertGreaterThan(abs(expected + Double(scored) * log(384.0)), 1e-3, "the model is not uniform")
            }
        }
    }
}
