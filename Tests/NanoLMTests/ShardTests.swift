import Foundation
import XCTest
import Torch
@testable import NanoLM

/// Token shards: the files agree with the index, reading equals what was written, and damage is
/// reported with the file's name.
final class ShardTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Documents of random lengths with ids below `vocab`.
    static func documents(_ count: Int, vocab: Int, seed: UInt64) -> [[Int32]] {
        var random = CounterRandom(seed: seed)
        return (0 ..< count).map { _ in (0 ..< (1 + random.next(below: 60))).map { _ in Int32(random.next(below: vocab)) } }
    }

    /// Writes train and validation splits and an index; returns the expected streams.
    @discardableResult
    func write(vocab: Int, eos: Int, tokensPerShard: Int = 300) throws -> (train: [Int32], validation: [Int32]) {
        let special = SpecialTokens(vocabularySize: vocab, eos: eos, mask: eos - 1, pad: eos - 2)
        let dtype = TokenDType.fitting(vocabularySize: vocab)
        var expected: [String: [Int32]] = [:]
        var splits: [String: ShardIndex.Split] = [:]
        for (split, count) in [("train", 120), ("validation", 15)] {
            let writer = ShardWriter(directory: directory, split: split, dtype: dtype, eos: eos, tokensPerShard: tokensPerShard)
            for (i, doc) in Self.documents(count, vocab: eos - 2, seed: split == "train" ? 1 : 2).enumerated() {
                try writer.append(doc, domain: i % 3 == 0 ? "code" : "web")
                expected[split, default: []] += doc + [Int32(eos)]
            }
            splits[split] = try writer.finish()
        }
        let index = ShardIndex(format: ShardIndex.currentFormat, track: "test", seed: 0, dtype: dtype,
                               tokenizer: .init(name: "bytes", hash: "x", vocabularySize: vocab, directory: nil),
                               special: special, splits: splits, domains: [], created: "now")
        try index.write(directory: directory)
        return (expected["train"]!, expected["validation"]!)
    }

    func testIndexIsConsistentWithTheFiles() throws {
        let expected = try write(vocab: 1024, eos: 1000)
        let index = try ShardIndex.read(directory: directory)
        XCTAssertEqual(index.dtype, .uint16)
        for (name, split) in index.splits {
            XCTAssertGreaterThan(split.shards.count, name == "train" ? 3 : 0)
            XCTAssertEqual(split.tokens, (name == "train" ? expected.train : expected.validation).count)
            XCTAssertEqual(split.tokensPerDomain.values.reduce(0, +), split.tokens)
            XCTAssertEqual(split.documents, name == "train" ? 120 : 15)
            for shard in split.shards {
                let data = try Data(contentsOf: directory.appendingPathComponent(shard.file))
                XCTAssertEqual(data.count, shard.tokens * 2, shard.file)
                // EOS after every document: the count of EOS in the file is its document count.
                let ids = stride(from: 0, to: data.count, by: 2).map { Int(data[$0]) | Int(data[$0 + 1]) << 8 }
                XCTAssertEqual(ids.filter { $0 == 1000 }.count, shard.documents, shard.file)
                XCTAssertEqual(ids.last, 1000, "\(shard.file) ends with a whole document")
                var h = FNV1a64(); h.update(data)
                XCTAssertEqual(h.hex, shard.checksum)
            }
        }
        // FNV-1a 64 reference values (http://www.isthe.com/chongo/tech/comp/fnv/): "" and "a".
        XCTAssertEqual(FNV1a64().hex, "cbf29ce484222325")
        var a = FNV1a64(); a.update("a")
        XCTAssertEqual(a.hex, "af63dc4c8601ec8c")
    }

    func testMappedReadingEqualsWhatWasWritten() throws {
        let expected = try write(vocab: 1024, eos: 1000)
        let set = try ShardSet(directory: directory, split: "train", verifyChecksums: true)
        XCTAssertEqual(set.count, expected.train.count)
        XCTAssertEqual(set.tokens(from: 0, count: set.count), expected.train)
        // Windows that straddle shard boundaries.
        var random = CounterRandom(seed: 4)
        for _ in 0 ..< 200 {
            let n = 1 + random.next(below: 700), start = random.next(below: set.count - n)
            XCTAssertEqual(set.tokens(from: start, count: n), Array(expected.train[start ..< start + n]))
        }
    }

    func testLargeVocabulariesUseUInt32() throws {
        let expected = try write(vocab: 100_352, eos: 100_000)
        let index = try ShardIndex.read(directory: directory)
        XCTAssertEqual(index.dtype, .uint32)
        let set = try ShardSet(directory: directory, split: "validation")
        XCTAssertEqual(set.tokens(from: 0, count: set.count), expected.validation)
        XCTAssertTrue(expected.validation.contains { $0 > 65535 })
    }

    /// The shard-backed sources give exactly the batches of the in-memory ones on the same tokens.
    func testShardBatchesEqualInMemoryBatches() throws {
        let expected = try write(vocab: 1024, eos: 1000)
        let data = try ShardedData(directory: directory)
        let shardCausal = try data.batches(.causal, batchSize: 3, sequenceLength: 40, seed: 8)
        let memoryCausal = try CausalLMBatches(training: expected.train, validation: expected.validation, batchSize: 3,
                                               sequenceLength: 40, seed: 8)
        let shardSpans = try data.batches(.spans, batchSize: 2, sequenceLength: 32, seed: 8)
        let memorySpans = try SpanCorruptionBatches(training: expected.train, validation: expected.validation, batchSize: 2,
                                                    inputLength: 32, seed: 8, special: data.index.special)
        for step in 0 ..< 4 {
            for (a, b) in [(shardCausal, memoryCausal as any BatchSource), (shardSpans, memorySpans)] {
                let x = try a.trainingBatch(step: step, micro: 0), y = try b.trainingBatch(step: step, micro: 0)
                XCTAssertEqual(try x.inputs.toArray(Int64.self), try y.inputs.toArray(Int64.self))
                XCTAssertEqual(try x.targets.toArray(Int64.self), try y.targets.toArray(Int64.self))
            }
            XCTAssertEqual(try shardCausal.validationBatch(windows: [step, step + 2]).inputs.toArray(Int64.self),
                           try memoryCausal.validationBatch(windows: [step, step + 2]).inputs.toArray(Int64.self))
        }
    }

    // MARK: damage

    func assertError(_ body: @autoclosure () throws -> Any, mentions parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let text = "\(error)"
            for part in parts { XCTAssertTrue(text.contains(part), "«\(text)» should mention «\(part)»", file: file, line: line) }
        }
    }

    func testMissingDirectoryNamesTheIndex() {
        assertError(try ShardedData(directory: directory.appendingPathComponent("nope")), mentions: ["nope/index.json"])
    }

    func testCorruptIndexIsReportedWithFileAndField() throws {
        try write(vocab: 1024, eos: 1000)
        let url = directory.appendingPathComponent("index.json")
        let good = try String(contentsOf: url, encoding: .utf8)

        try "{ not json".write(to: url, atomically: true, encoding: .utf8)
        assertError(try ShardIndex.read(directory: directory), mentions: [url.path, "not valid JSON"])

        try good.replacingOccurrences(of: "\"dtype\"", with: "\"dtipe\"").write(to: url, atomically: true, encoding: .utf8)
        assertError(try ShardIndex.read(directory: directory), mentions: [url.path, "dtype"])

        try good.replacingOccurrences(of: "\"uint16\"", with: "\"int7\"").write(to: url, atomically: true, encoding: .utf8)
        assertError(try ShardIndex.read(directory: directory), mentions: [url.path, "dtype"])

        var index = try JSONDecoder().decode(ShardIndex.self, from: Data(good.utf8))
        index.splits["train"]!.tokens += 1
        try index.write(directory: directory)
        assertError(try ShardIndex.read(directory: directory), mentions: [url.path, "splits.train.tokens"])
    }

    func testTruncatedShardIsReportedWithItsName() throws {
        try write(vocab: 1024, eos: 1000)
        let index = try ShardIndex.read(directory: directory)
        let victim = index.splits["train"]!.shards[1].file
        let url = directory.appendingPathComponent(victim)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 3).write(to: url)
        assertError(try ShardedData(directory: directory), mentions: [victim, "truncated"])
        try FileManager.default.removeItem(at: url)
        assertError(try ShardedData(directory: directory), mentions: [victim])
    }

    func testOverwrittenShardFailsVerification() throws {
        try write(vocab: 1024, eos: 1000)
        let victim = try ShardIndex.read(directory: directory).splits["validation"]!.shards[0].file
        let url = directory.appendingPathComponent(victim)
        var data = try Data(contentsOf: url)
        data[5] ^= 0xFF
        try data.write(to: url)
        XCTAssertNoThrow(try ShardedData(directory: directory), "sizes still match: only verification reads the bytes")
        assertError(try ShardedData(directory: directory, verifyChecksums: true), mentions: [victim, "checksum"])
    }
}
