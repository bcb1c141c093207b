import Foundation
import XCTest
@testable import NanoLM

/// A scorer that always prefers the first choice: log-likelihood 0 for it, −1 for the others.
struct FirstChoiceScorer: ChoiceScorer {
    let choiceCounts: [Int]   // per item, in the order the evaluator asks
    func score(_ requests: [ScoringRequest], progress: (Int, Int) -> Void) throws -> [ChoiceScore] {
        XCTAssertEqual(requests.count, choiceCounts.reduce(0, +))
        return choiceCounts.flatMap { k in (0 ..< k).map { ChoiceScore(logLikelihood: $0 == 0 ? 0 : -1, tokens: 1) } }
    }
}

/// The built-in tasks: deterministic, balanced, built as described; read back from real shards with
/// their domains; a first-choice scorer scores exactly chance on them.
final class EvalTaskTests: XCTestCase {
    /// Two domains of text with their own vocabularies (60 made-up words each); three documents each.
    static func documents() -> [HeldOutDocument] {
        let syllables = [["ri", "ver", "sto", "ne", "wa", "ter", "va", "ley"], ["par", "ser", "to", "ken", "buf", "fer", "in", "dex"]]
        var random = CounterRandom(seed: 5)
        let vocabularies = syllables.map { s in (0 ..< 60).map { _ in (0 ..< 2 + random.next(below: 2)).map { _ in s[random.next(below: s.count)] }.joined() } }
        return (0 ..< 6).map { i in
            let words = vocabularies[i / 3]
            let text = (0 ..< 300).map { _ in words[random.next(below: words.count)] }.joined(separator: " ")
            return HeldOutDocument(domain: i < 3 ? "nature" : "code", text: text + ".")
        }
    }

    func options(seed: UInt64 = 0) -> GeneratedTaskOptions {
        var o = GeneratedTaskOptions()
        o.itemsPerTask = 42   // → 40, a multiple of 4
        o.seed = seed
        return o
    }

    func testSameSeedSameItemsAndAnotherSeedOthers() throws {
        let docs = Self.documents()
        let a = try TaskGenerator(options: options()).tasks(from: docs)
        let b = try TaskGenerator(options: options()).tasks(from: docs)
        let c = try TaskGenerator(options: options(seed: 1)).tasks(from: docs)
        XCTAssertEqual(a.tasks.map(\.name), ["continuation/nature", "continuation/code", "last-word/nature", "last-word/code"])
        XCTAssertEqual(a.notes, [])
        XCTAssertEqual(a.tasks.map(\.items), b.tasks.map(\.items))
        XCTAssertNotEqual(a.tasks.map(\.items), c.tasks.map(\.items))
    }

    func testAnswerPositionsAreBalancedAndChoicesAreWhatTheyClaim() throws {
        let docs = Self.documents()
        for task in try TaskGenerator(options: options()).tasks(from: docs).tasks {
            XCTAssertEqual(task.items.count, 40, task.name)
            let counts = (0 ..< 4).map { p in task.items.filter { $0.answer == p }.count }
            XCTAssertEqual(counts, [10, 10, 10, 10], "\(task.name): answer positions")
            let domain = task.name.components(separatedBy: "/")[1]
            let own = docs.filter { $0.domain == domain }.map(\.text)
            for item in task.items {
                XCTAssertEqual(item.choices.count, 4)
                XCTAssertEqual(Set(item.choices).count, 4, "distinct choices")
                // The right answer follows the context in one of the domain's documents.
                XCTAssertTrue(own.contains { $0.contains(item.solved) }, "\(task.name): \(item.solved)")
                // Distractors come from the same domain's text.
                for choice in item.choices { XCTAssertTrue(own.contains { $0.contains(choice) }) }
                if task.name.hasPrefix("last-word") {
                    for choice in item.choices {
                        XCTAssertTrue(choice.count >= 3 && choice.allSatisfy { $0.isASCII && $0.isLetter }, choice)
                    }
                    // The right word occurs in the context (LAMBADA's selection).
                    let seen = Set(item.context.split { !$0.isLetter }.map(String.init))
                    XCTAssertTrue(seen.contains(item.choices[item.answer]), item.context)
                } else {
                    XCTAssertTrue(item.choices.allSatisfy { $0.utf8.count >= 24 && $0.utf8.count <= 48 && !$0.hasPrefix(" ") })
                }
            }
        }
    }

    func testAModelThatPrefersTheFirstChoiceScoresChance() throws {
        let tasks = try TaskGenerator(options: options()).tasks(from: Self.documents()).tasks
        let scorer = FirstChoiceScorer(choiceCounts: tasks.flatMap { $0.items.map(\.choices.count) })
        let report = try Evaluator().evaluate(tasks, scorer: scorer)
        for metric in ChoiceMetric.allCases {
            for t in report.tasks { XCTAssertEqual(t.accuracy(metric).value, 0.25, "\(t.task) \(metric)") }
            XCTAssertEqual(report.average[metric.rawValue]!.value, 0.25)
        }
        XCTAssertEqual(report.chance, 0.25)
        XCTAssertEqual(report.error(.acc), 0.75)
        // SE of a mean of 40 outcomes with p = 1/4: √(p(1 − p)/(n − 1)); of the average of 4 tasks: that / 2.
        let se = (0.25 * 0.75 / 39).squareRoot()
        XCTAssertEqual(report.tasks[0].accuracy(.acc).standardError, se, accuracy: 1e-12)
        XCTAssertEqual(report.average["acc"]!.standardError, se / 2, accuracy: 1e-12)
    }

    func testADomainWithOneDocumentIsLeftOutAndSaid() throws {
        var docs = Self.documents()
        docs.removeLast(2)   // code keeps one document
        let made = try TaskGenerator(options: options()).tasks(from: docs)
        XCTAssertEqual(made.tasks.map(\.name), ["continuation/nature", "last-word/nature"])
        XCTAssertEqual(made.notes.count, 2)
        XCTAssertTrue(made.notes[0].hasPrefix("continuation/code: left out: 1 held-out document(s)"), made.notes[0])
    }

    /// Shards from `TrackBuilder` with two domains written in their own letters ("upper" A–H, "lower" a–h).
    static func buildShards(in root: URL) throws -> (index: ShardIndex, directory: URL) {
        let letters = ["upper": "ABCDEFGH", "lower": "abcdefgh"]
        var random = CounterRandom(seed: 3)
        for (domain, alphabet) in letters.sorted(by: { $0.key < $1.key }) {
            let dir = root.appendingPathComponent(domain)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for i in 0 ..< 40 {
                let words = (0 ..< 60).map { _ in String((0 ..< 5).map { _ in Array(alphabet)[random.next(below: 8)] }) }
                try words.joined(separator: " ").write(to: dir.appendingPathComponent("d\(i).txt"), atomically: true, encoding: .utf8)
            }
        }
        let track = Track(name: "two", tokens: 20_000, validationTokens: 4_000, seed: 1, domains: [
            TrackDomain(name: "upper", proportion: 1, sources: [TrackSource(paths: [root.appendingPathComponent("upper").path])]),
            TrackDomain(name: "lower", proportion: 1, sources: [TrackSource(paths: [root.appendingPathComponent("lower").path])]),
        ])
        let builder = TrackBuilder(track: track, codec: ByteCodec())
        builder.progress = { _ in }
        let out = root.appendingPathComponent("shards")
        return (try builder.build(into: out), out)
    }

    /// Real shards from `TrackBuilder`: documents come back with the domain whose text they hold.
    func testHeldOutDocumentsKnowTheirDomains() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let (index, out) = try Self.buildShards(in: root)
        let held = try HeldOutDocuments(directory: out)
        XCTAssertTrue(held.knowsDomains)
        XCTAssertEqual(held.documents.count, index.splits["validation"]!.documents)
        XCTAssertEqual(Set(held.documents.map(\.domain)), ["upper", "lower"])
        for d in held.documents {
            XCTAssertTrue(d.text.allSatisfy { $0 == " " || (d.domain == "upper" ? $0.isUppercase : $0.isLowercase) }, "\(d.domain): \(d.text.prefix(40))")
        }
    }
}
