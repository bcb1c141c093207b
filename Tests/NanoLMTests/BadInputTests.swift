import Foundation
import XCTest
import Torch
@testable import NanoLM

/// Issue 20's reproducers, one test each: input a user or a damaged file can supply that used to trap
/// (division by zero, overflow, a Double→Int conversion, a force unwrap in Yams), exhaust memory or hang,
/// and now is an error that names the file or flag and the field.
final class BadInputTests: ScratchDirectoryTestCase {
    func write(_ text: String, _ name: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// `body` throws, and its message contains every one of `parts`.
    func assertError(_ body: @autoclosure () throws -> Any, mentions parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("no error; expected one mentioning \(parts)", file: file, line: line)
        } catch {
            let message = "\(error)" + " " + error.localizedDescription
            for part in parts { XCTAssertTrue(message.contains(part), "'\(part)' not in: \(message)", file: file, line: line) }
        }
    }

    func study(_ from: String, _ to: String) throws -> URL {
        let text = StudyTests.tinyYAML()
        XCTAssertTrue(text.contains(from), from)
        return try write(text.replacingOccurrences(of: from, with: to), "study.yaml")
    }

    /// An over-training file next to a `data` directory with an index.json (validation checks that it exists).
    func overTraining(_ from: String = "", _ to: String = "") throws -> URL {
        try FileManager.default.createDirectory(at: root.appendingPathComponent("data"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: root.appendingPathComponent("data/index.json"))
        let text = """
            name: ot
            data: data
            architecture: gpt
            layers: 1
            headDim: 8
            baseWidth: 16
            sequenceLength: 16
            batchSize: 4
            widths: [16, 24, 32]
            multipliers: [2, 4, 8]
            fitMaxWidth: 24
            fitMaxMultiplier: 8
            """
        XCTAssertTrue(from.isEmpty || text.contains(from), from)
        return try write(from.isEmpty ? text : text.replacingOccurrences(of: from, with: to), "ot.yaml")
    }

    // MARK: 1–5: study and over-training files, run configs

    func testTheFixturesAreValid() throws {
        _ = try StudySpec.load(study("name: tiny", "name: tiny"))
        _ = try OverTrainingSpec.load(overTraining())
    }

    /// 1. `w % h` ran before `headDim ≥ 1` was checked: division by zero.
    func testHeadDimZero() throws {
        assertError(try StudySpec.load(study("headDim: 16", "headDim: 0")), mentions: ["study.yaml", "designs[0].headDim"])
        assertError(try OverTrainingSpec.load(overTraining("headDim: 8", "headDim: 0")), mentions: ["ot.yaml", "headDim"])
    }

    /// 2. ffnRatio 1e300 trapped converting ffnRatio × width to Int.
    func testHugeFFNRatio() throws {
        assertError(try StudySpec.load(study("headDim: 16", "headDim: 16, ffnRatio: 1e300")), mentions: ["designs[0].ffnRatio"])
        var config = TrainingConfig(model: ModelConfig(architecture: .gpt, width: 64, headDim: 16), steps: 10, batchSize: 2)
        config.model.ffnRatio = 1e300
        assertError(try config.validate(), mentions: ["ffnRatio"])
        config.model.ffnRatio = .nan
        assertError(try config.validate(), mentions: ["ffnRatio"])
    }

    /// 3. Width 4e9 overflowed the parameter count (w² > Int.max).
    func testHugeWidth() throws {
        assertError(try StudySpec.load(study("targetWidth: 128", "targetWidth: 4000000000")), mentions: ["targetWidth", "1048576"])
        let model = ModelConfig(architecture: .gpt, layers: 2, width: 4_000_000_000, vocabularySize: 50304, headDim: 64)
        assertError(try model.parameterCounts(), mentions: ["width", "1048576"])
        // The largest sizes allowed count without overflow (T5 is the largest count per size).
        let largest = ModelConfig(architecture: .t5, layers: Limits.layers, width: Limits.width, vocabularySize: Limits.vocabularySize,
                                  sequenceLength: Limits.sequenceLength, headDim: 64, ffnRatio: Limits.ffnRatio)
        XCTAssertGreaterThan(try largest.parameterCounts().total, 1 << 58)
    }

    /// 4. steps × tokens per step overflowed when the study planned its FLOPs.
    func testHugeBudget() throws {
        assertError(try StudySpec.load(study("budget: {steps: 6,", "budget: {steps: 9000000000000000000,")), mentions: ["budget.steps"])
        assertError(try StudySpec.load(study("budget: {steps: 6, batchSize: 4,", "budget: {steps: 1099511627776, batchSize: 524288,")),
                    mentions: ["budget.steps", "tokens"])
        assertError(try StudySpec.load(study("batchSize: 4,", "batchSize: 4611686018427387904,")), mentions: ["budget.batchSize"])
        var config = TrainingConfig(model: ModelConfig(architecture: .gpt, width: 64, headDim: 16), steps: 1 << 40, batchSize: 1 << 20)
        config.model.sequenceLength = 16
        assertError(try config.validate(), mentions: ["steps × tokens per step"])
    }

    /// 5. An over-training multiplier of 1e300 trapped converting M·N / tokens per step to Int.
    func testHugeMultiplier() throws {
        assertError(try OverTrainingSpec.load(overTraining("multipliers: [2, 4, 8]", "multipliers: [2, 4, 1e300]")),
                    mentions: ["ot.yaml", "multipliers[2]"])
        assertError(try OverTrainingSpec.load(overTraining("multipliers: [2, 4, 8]", "multipliers: [2, 4, .nan]")),
                    mentions: ["multipliers[2]"])
        // Within the limit, a wide model at the largest multiplier still needs too many steps: an error.
        let spec = try OverTrainingSpec.load(overTraining())
        let study = OverTrainingStudy(spec: spec, directory: root, log: { _ in })
        assertError(try study.config(width: 1 << 19, multiplier: Limits.tokenMultiplier, vocabularySize: 384), mentions: ["steps"])
    }

    // MARK: 6–7: YAML

    /// 6. A complex key reached a force unwrap inside Yams.
    func testYAMLComplexKey() throws {
        assertError(try StudySpec.load(write(StudyTests.tinyYAML() + "\n? [a, b]\n: 1\n", "study.yaml")),
                    mentions: ["study.yaml", "line 13", "complex keys"])
        assertError(try StudySpec.load(write("{[a, b]: 1}\n", "study.yaml")), mentions: ["complex keys"])
    }

    /// 7. Nested aliases ("billion laughs") grew to 3.4 GB before an abort.
    func testYAMLBillionLaughs() throws {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for i in 1 ... 9 { text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
        assertError(try StudySpec.load(write(text, "study.yaml")), mentions: ["study.yaml", "line 2", "aliases"])
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        assertError(try StudySpec.load(write("name: " + deep, "study.yaml")), mentions: ["study.yaml"])
    }

    // MARK: 8, 9, 13: index.json and batches

    /// A valid index.json (ByteCodec ids) with `edit` applied to its JSON object.
    func index(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let dir = root.appendingPathComponent("shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let writer = ShardWriter(directory: dir, split: "train", dtype: .uint16, eos: 256)
        try writer.append((0 ..< 100).map { Int32($0) }, domain: "web")
        let train = try writer.finish()
        let valid = ShardWriter(directory: dir, split: "validation", dtype: .uint16, eos: 256)
        try valid.append((0 ..< 100).map { Int32($0) }, domain: "web")
        let index = ShardIndex(format: ShardIndex.currentFormat, track: "t", seed: 0, dtype: .uint16,
                               tokenizer: .init(name: "bytes", hash: ByteCodec().hash, vocabularySize: 384, directory: nil),
                               special: ByteCodec().special, splits: ["train": train, "validation": try valid.finish()],
                               domains: [], created: "now")
        try index.write(directory: dir)
        let url = dir.appendingPathComponent("index.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return dir
    }

    func editShards(_ object: inout [String: Any], split: String = "train", _ edit: (inout [[String: Any]]) -> Void) {
        var splits = object["splits"] as! [String: Any]
        var entry = splits[split] as! [String: Any]
        var shards = entry["shards"] as! [[String: Any]]
        edit(&shards)
        entry["shards"] = shards
        entry["tokens"] = shards.reduce(0) { $0 &+ ($1["tokens"] as! Int) }
        splits[split] = entry
        object["splits"] = splits
    }

    /// 8. Shard token counts overflowed when summed and when multiplied by the token size.
    func testIndexCountsThatOverflow() throws {
        let summed = try index { o in editShards(&o) { s in s = [s[0], s[0], s[0]]; for i in 0 ..< 3 { s[i]["tokens"] = Int.max / 2 } } }
        assertError(try ShardIndex.read(directory: summed), mentions: ["index.json", "splits.train", "overflow"])
        let bytes = try index { o in editShards(&o) { s in s[0]["tokens"] = 1 << 62 } }
        assertError(try ShardIndex.read(directory: bytes), mentions: ["index.json", "splits.train.shards[0].tokens"])
        let negative = try index { o in editShards(&o) { s in s[0]["tokens"] = -5 } }
        assertError(try ShardIndex.read(directory: negative), mentions: ["splits.train.shards[0]", "negative"])
        let escape = try index { o in editShards(&o) { s in s[0]["file"] = "../../etc/passwd" } }
        assertError(try ShardIndex.read(directory: escape), mentions: ["splits.train.shards[0].file"])
    }

    func special(_ edit: @escaping (inout [String: Any]) -> Void) throws -> URL {
        try index { o in
            var s = o["special"] as! [String: Any]
            edit(&s)
            o["special"] = s
        }
    }

    /// 9. randomTokenBound 0 divided by zero, −1 trapped converting to UInt64.
    func testRandomTokenBound() throws {
        for bound in [0, -1, 385] {
            let dir = try special { $0["randomTokenBound"] = bound }
            assertError(try ShardedData(directory: dir), mentions: ["index.json", "randomTokenBound"])
        }
        let dir = try special { $0["eos"] = 100_000 }
        assertError(try ShardedData(directory: dir), mentions: ["index.json", "eos"])
    }

    /// 13. With every id below randomTokenBound special, `randomToken` looped forever (and the process
    /// ignored SIGTERM, whose handler only set a flag the loop never read).
    func testAllSpecialBelowTheBoundIsAnErrorNotAHang() throws {
        let dir = try special { $0["randomTokenBound"] = 3; $0["eos"] = 0; $0["mask"] = 1; $0["pad"] = 2 }
        assertError(try ShardedData(directory: dir), mentions: ["index.json", "every id below randomTokenBound 3 is special"])
        // One non-special id among many special ones: the draw ends, always with that id.
        let special = SpecialTokens(vocabularySize: 200, eos: 0, mask: 1, pad: 2, sentinels: Array(3 ..< 199), randomTokenBound: 200)
        let tokens = [Int32](repeating: 5, count: 500)
        let batches = try MaskedLMBatches(training: tokens, validation: tokens, batchSize: 2, sequenceLength: 8, seed: 0, special: special)
        var random = CounterRandom(seed: 1)
        XCTAssertEqual(Set((0 ..< 100).map { _ in batches.randomToken(&random) }), [199])
    }

    // MARK: 10–11: checkpoints

    /// 11. A checkpoint whose loop state says tokens ≈ Int.max overflowed on the next step.
    func testCheckpointTokensNearIntMax() throws {
        func config(steps: Int) -> TrainingConfig {
            var c = TrainingConfig(model: ModelConfig(architecture: .gpt, layers: 1, width: 16, vocabularySize: 16, sequenceLength: 16,
                                                      headDim: 8), steps: steps, batchSize: 8)
            c.lossWindow = 2
            c.evalBatches = 1
            c.threads = 1
            return c
        }
        func data() throws -> CausalLMBatches {
            try CausalLMBatches(training: TrainerTests.tokens(4000, seed: 1), validation: TrainerTests.tokens(1000, seed: 2),
                                batchSize: 8, sequenceLength: 16, seed: 3)
        }
        let dir = root.appendingPathComponent("run")
        try Trainer(config: config(steps: 3), model: Bigram(vocabulary: 16, width: 16, seed: 0), data: data(), directory: dir).run()
        let url = dir.appendingPathComponent("checkpoint.safetensors")
        var contents = try SafeTensors.load(url)
        var state = try JSONSerialization.jsonObject(with: Data(contents.metadata["nanolm.state"]!.utf8)) as! [String: Any]
        state["tokens"] = Int.max - 10
        contents.metadata["nanolm.state"] = String(decoding: try JSONSerialization.data(withJSONObject: state), as: UTF8.self)
        try SafeTensors.save(contents.tensors, metadata: contents.metadata, to: url)
        let trainer = try Trainer(config: config(steps: 6), model: Bigram(vocabulary: 16, width: 16, seed: 0), data: data(), directory: dir)
        assertError(try trainer.run(), mentions: ["checkpoint.safetensors", "tokens"])
        XCTAssertThrowsError(try checkedTokens(Int.max - 1, plus: 2))
        XCTAssertEqual(try checkedTokens(40, plus: 2), 42)
    }

    // MARK: 14: command-line values

    /// 14. `train --vocab 9223372036854775807`, `train --batch 100000 --seq-len 4096`,
    /// `data inspect --length 9223372036854775807`, `eval --save-tasks --items 2^62`: each an error.
    func testCommandLineValues() throws {
        var vocab = TrainingConfig(model: ModelConfig(architecture: .gpt), steps: 100, batchSize: 8)
        vocab.model.vocabularySize = Int.max
        assertError(try vocab.validate(), mentions: ["vocabularySize", "16777216"])
        var batch = TrainingConfig(model: ModelConfig(architecture: .gpt), steps: 100, batchSize: 100_000)
        batch.model.sequenceLength = 4096
        assertError(try batch.validate(), mentions: ["micro-batch", "16777216", "--accumulate"])

        let dir = try index { _ in }
        let data = try ShardedData(directory: dir)
        for objective in DataObjective.allCases {
            assertError(try data.batches(objective, batchSize: 1, sequenceLength: Int.max, seed: 0), mentions: ["sequence length"])
            assertError(try data.batches(objective, batchSize: 0, sequenceLength: 8, seed: 0), mentions: ["batch size"])
        }

        var options = GeneratedTaskOptions()
        options.itemsPerTask = 1 << 62
        let documents = [HeldOutDocument(domain: "a", text: "x"), HeldOutDocument(domain: "a", text: "y")]
        assertError(try TaskGenerator(options: options).tasks(from: documents), mentions: ["items per task", "1000000"])
    }

    /// The same command lines through the built binary exit with a message, not a signal.
    func testCommandLineValuesThroughTheBinary() throws {
        let nanolm = try builtNanolm()
        let dir = try index { _ in }
        let cases: [([String], String)] = [
            (["train", "--vocab", "9223372036854775807", "--data", "synthetic", "--out", root.appendingPathComponent("r1").path], "vocabularySize"),
            (["train", "--batch", "100000", "--seq-len", "4096", "--data", "synthetic", "--out", root.appendingPathComponent("r2").path], "micro-batch"),
            (["data", "inspect", dir.path, "--length", "9223372036854775807"], "sequence length"),
            (["eval", "--data", dir.path, "--save-tasks", root.appendingPathComponent("t").path, "--items", "4611686018427387904"], "items per task"),
        ]
        for (arguments, expected) in cases {
            let process = Process()
            process.executableURL = nanolm
            process.arguments = arguments
            let pipe = Pipe()
            process.standardError = pipe
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .exit, "\(arguments): \(output)")
            XCTAssertNotEqual(process.terminationStatus, 0, "\(arguments)")
            XCTAssertTrue(output.contains(expected), "\(arguments): \(output)")
        }
    }

    // MARK: Files as people write them

    /// A CRLF merges.txt read as one "#version" line: every merge silently dropped. Now CRLF (and a BOM)
    /// read exactly as LF.
    func testCRLFTokenizerFilesReadAsLF() throws {
        let fixture = TokenizerTests.fixture
        let vocabulary = try String(contentsOf: fixture("hf-vocab.json"), encoding: .utf8)
        let merges = try String(contentsOf: fixture("hf-merges.txt"), encoding: .utf8)
        let lf = try Tokenizer(vocabulary: fixture("hf-vocab.json"), merges: fixture("hf-merges.txt"))
        let crlfVocabulary = try write("\u{FEFF}" + vocabulary.replacingOccurrences(of: "\n", with: "\r\n"), "vocab.json")
        let crlfMerges = try write(merges.replacingOccurrences(of: "\n", with: "\r\n"), "merges.txt")
        let crlf = try Tokenizer(vocabulary: crlfVocabulary, merges: crlfMerges)
        XCTAssertEqual(crlf.merges.count, lf.merges.count)
        XCTAssertGreaterThan(lf.merges.count, 100)
        let text = "The quick brown fox jumps over the lazy dog, twice."
        XCTAssertEqual(crlf.encode(text), lf.encode(text))
        let tiktoken = try String(contentsOf: fixture("hf.tiktoken"), encoding: .utf8)
        let crlfTiktoken = try Tokenizer(tiktoken: write(tiktoken.replacingOccurrences(of: "\n", with: "\r\n"), "hf.tiktoken"))
        XCTAssertEqual(crlfTiktoken.encode(text), try Tokenizer(tiktoken: fixture("hf.tiktoken")).encode(text))
    }

    /// A shard zeroed in place (right size) trained silently: training now checks the checksums at start,
    /// and an index from before checksums still loads.
    func testZeroedShardFailsTrainingAndOldIndexesLoad() throws {
        let dir = try index { _ in }
        let index = try ShardIndex.read(directory: dir)
        let shard = dir.appendingPathComponent(index.splits["train"]!.shards[0].file)
        let size = try Data(contentsOf: shard).count
        try Data(count: size).write(to: shard)
        var config = TrainingConfig(model: ModelConfig(architecture: .gpt, layers: 1, width: 16, vocabularySize: 384,
                                                       sequenceLength: 8, headDim: 8), steps: 2, batchSize: 2)
        config.threads = 1
        assertError(try openTrainingData(dir.path, config: config), mentions: [shard.lastPathComponent, "checksum"])
        let old = try self.index { o in editShards(&o) { s in s[0]["checksum"] = nil } }
        XCTAssertNoThrow(try openTrainingData(old.path, config: config))
    }

    /// A truncated shard ended a study with the hint "lower grid.learningRates" (every run failed); the
    /// study now names the shard before anything trains.
    func testTruncatedShardStopsTheStudyAtStart() throws {
        let dir = try index { _ in }
        let shard = dir.appendingPathComponent(try ShardIndex.read(directory: dir).splits["train"]!.shards[0].file)
        let bytes = try Data(contentsOf: shard)
        try bytes.prefix(bytes.count / 2).write(to: shard)
        let yaml = StudyTests.tinyYAML().replacingOccurrences(of: "data: synthetic", with: "data: \(dir.path)")
        let spec = try StudySpec.load(write(yaml, "study.yaml"))
        assertError(try StudyRunner(spec: spec, file: "study.yaml", directory: root.appendingPathComponent("s")),
                    mentions: [shard.lastPathComponent, "truncated"])
    }
}
