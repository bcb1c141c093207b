import Foundation
import XCTest
@testable import NanoLM

/// The byte-level BPE against Hugging Face `tokenizers` and tiktoken on fixtures made by
/// scripts/tokenizer_goldens.py (HF's ByteLevel BPE trained on corpus.txt; the same tokens as tiktoken
/// ranks), plus round trips, file formats, padding, special tokens and bad files.
final class TokenizerTests: XCTestCase {
    struct Case: Decodable {
        let text: String
        let hf: [Int32], tiktoken: [Int32], tiktoken_ordinary: [Int32], tiktoken_cl100k: [Int32]
    }
    struct Goldens: Decodable {
        let vocab_size: Int
        let tiktoken_special_ids: [String: Int]
        let tiktoken_padded_size: Int
        let hf_merges: Int
        let cases: [Case]
    }

    static func fixture(_ name: String) -> URL { Bundle.module.url(forResource: "Fixtures/tokenizer/\(name)", withExtension: nil)! }
    static let goldens = try! JSONDecoder().decode(Goldens.self, from: Data(contentsOf: fixture("goldens.json")))
    static let hf = try! Tokenizer(vocabulary: fixture("hf-vocab.json"), merges: fixture("hf-merges.txt"))
    static let tiktoken = try! Tokenizer(tiktoken: fixture("hf.tiktoken"))

    var root: URL!
    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func testEncodingEqualsHuggingFaceTokenForToken() {
        XCTAssertGreaterThan(Self.goldens.cases.count, 100)
        for c in Self.goldens.cases {
            XCTAssertEqual(Self.hf.encode(c.text, allowingSpecialTokens: true), c.hf, "text \(c.text.debugDescription)")
            XCTAssertEqual(Self.hf.decode(c.hf), c.text)
        }
    }

    func testEncodingEqualsTiktokenTokenForToken() {
        for c in Self.goldens.cases {
            XCTAssertEqual(Self.tiktoken.encode(c.text, allowingSpecialTokens: true), c.tiktoken, "text \(c.text.debugDescription)")
            XCTAssertEqual(Self.tiktoken.encode(c.text), c.tiktoken_ordinary, "ordinary, text \(c.text.debugDescription)")
        }
    }

    /// cl100k_base's pattern (tiktoken's own string) on the same ranks.
    func testCL100KPatternEqualsTiktoken() throws {
        let cl100k = try Tokenizer(tiktoken: Self.fixture("hf.tiktoken"), pattern: .cl100k)
        var differ = 0
        for c in Self.goldens.cases {
            XCTAssertEqual(cl100k.encode(c.text, allowingSpecialTokens: true), c.tiktoken_cl100k, "text \(c.text.debugDescription)")
            XCTAssertEqual(cl100k.decode(c.tiktoken_cl100k), c.text)
            if c.tiktoken_cl100k != c.tiktoken { differ += 1 }
        }
        XCTAssertGreaterThan(differ, 5, "the two patterns must split many of the strings differently")
        XCTAssertNotEqual(cl100k.hash, Self.tiktoken.hash)
        let text = try String(contentsOf: Self.fixture("corpus.txt"), encoding: .utf8)
        XCTAssertEqual(cl100k.encodeParallel(text, chunkBytes: 997), cl100k.encode(text))
    }

    /// nanolm's trainer on HF's training text gives HF's merges, in HF's order.
    func testTrainingEqualsHuggingFaceMerges() throws {
        let text = try String(contentsOf: Self.fixture("corpus.txt"), encoding: .utf8)
        let trained = try Tokenizer.train(documents: [text], vocabularySize: Self.goldens.vocab_size)
        let reference = try String(contentsOf: Self.fixture("hf-merges.txt"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map(String.init)  // after "#version: 0.2"
        let ours = trained.merges.map { byteLevelString(trained.tokens[Int($0.0)]) + " " + byteLevelString(trained.tokens[Int($0.1)]) }
        XCTAssertEqual(reference.count, Self.goldens.hf_merges)
        XCTAssertEqual(ours.count, reference.count)
        let firstDifference = zip(ours, reference).enumerated().first { $0.element.0 != $0.element.1 }
        XCTAssertNil(firstDifference, "first different merge: \(String(describing: firstDifference))")
        XCTAssertEqual(Set(trained.tokens.filter { !$0.isEmpty }), Set(Self.hf.tokens.filter { !$0.isEmpty }))
    }

    func testDecodeInvertsEncodeOnRandomUnicode() throws {
        var random = CounterRandom(seed: 6)
        let trained = try Tokenizer.train(documents: [String(repeating: "the cat's hat, 12 caps; ", count: 50)], vocabularySize: 400)
        // Scalars from every plane (no surrogates), weighted toward ASCII and whitespace runs.
        func scalar() -> Unicode.Scalar {
            switch random.next(below: 6) {
            case 0: return Unicode.Scalar(UInt8(random.next(below: 128)))
            case 1: return [" ", "\n", "\t", "\u{3000}", "\u{A0}", "'"][random.next(below: 6)]
            case 2: return Unicode.Scalar(UInt32(0x80 + random.next(below: 0x800 - 0x80)))!
            default:
                while true {
                    if let s = Unicode.Scalar(UInt32(random.next(below: 0x110000))) { return s }
                }
            }
        }
        for tokenizer in [Self.hf, Self.tiktoken, trained, try Tokenizer(tiktoken: Self.fixture("hf.tiktoken"), pattern: .cl100k)] {
            for _ in 0 ..< 300 {
                var s = String.UnicodeScalarView()
                for _ in 0 ..< random.next(below: 120) { s.append(scalar()) }
                let text = String(s)
                XCTAssertEqual(tokenizer.decode(tokenizer.encode(text)), text)
                XCTAssertEqual(tokenizer.decode(tokenizer.encode(text, allowingSpecialTokens: true)), text)
            }
        }
    }

    func testParallelEncodingEqualsSerial() throws {
        let text = try String(contentsOf: Self.fixture("corpus.txt"), encoding: .utf8) + " <|endoftext|>\n"
        XCTAssertEqual(Self.hf.encodeParallel(text, chunkBytes: 997), Self.hf.encode(text))
        XCTAssertEqual(Self.hf.encodeParallel(text, allowingSpecialTokens: true, chunkBytes: 4000),
                       Self.hf.encode(text, allowingSpecialTokens: true))
    }

    /// GPT-2's pattern on hand-split strings.
    func testPreTokenization() {
        func split(_ s: String) -> [String] {
            var s = s, out: [String] = []
            s.withUTF8 { b in preTokenize(b.baseAddress!, b.count) { out.append(String(decoding: b[$0 ..< $1], as: UTF8.self)) } }
            return out
        }
        XCTAssertEqual(split("Hello  world"), ["Hello", " ", " world"])
        XCTAssertEqual(split("a \n b"), ["a", " \n", " b"])
        XCTAssertEqual(split("x\n\ny"), ["x", "\n", "\n", "y"])
        XCTAssertEqual(split("don't they'll"), ["don", "'t", " they", "'ll"])
        XCTAssertEqual(split("end  "), ["end", "  "])
        XCTAssertEqual(split("x1.5 ab!?'s"), ["x", "1", ".", "5", " ab", "!?'", "s"])
        XCTAssertEqual(split("\u{3000}日本 語"), ["\u{3000}", "日本", " 語"])
        // cl100k_base: contractions in any case, one non-letter before letters, digits in threes,
        // newlines end a whitespace run.
        var cl: [String] = []
        var text = "DON'Tcha x'LLama (ok) 12345\n\n  y"
        text.withUTF8 { b in preTokenizeCL100K(b.baseAddress!, b.count) { cl.append(String(decoding: b[$0 ..< $1], as: UTF8.self)) } }
        XCTAssertEqual(cl, ["DON", "'T", "cha", " x", "'LL", "ama", " (", "ok", ")", " ", "123", "45", "\n\n", " ", " y"])
    }

    func testSpecialTokensAndPaddedVocabulary() throws {
        // The trained layout: bytes, merges, then EOS/[MASK]/[PAD], sentinels from the padded top.
        let trained = try Tokenizer.train(documents: [try String(contentsOf: Self.fixture("corpus.txt"), encoding: .utf8)], vocabularySize: 1000)
        let s = trained.special
        XCTAssertEqual([s.vocabularySize, s.eos, s.mask, s.pad], [1024, 897, 898, 899])
        XCTAssertEqual(s.sentinel(0), 1023)
        XCTAssertEqual(s.sentinel(99), 924)
        XCTAssertEqual(trained.encode("a<|endoftext|>[MASK]<extra_id_1>", allowingSpecialTokens: true).suffix(3), [897, 898, 1022])
        XCTAssertFalse(trained.encode("[MASK] <|endoftext|>").contains { trained.special.specialIDs.contains(Int($0)) })
        // Bytes only with GPT-2's EOS: ByteCodec's layout, 384 ids.
        let bytes = try Tokenizer(rule: .merges, tokens: (0 ..< 256).map { [UInt8($0)] }, specials: ["<|endoftext|>": 256])
        XCTAssertEqual(bytes.special, ByteCodec().special)
        // HF's file names all specials first; tiktoken's file none.
        XCTAssertEqual([Self.hf.special.vocabularySize, Self.hf.special.eos, Self.hf.special.pad, Self.hf.special.sentinel(5)], [1536, 0, 2, 8])
        let ids = Self.goldens.tiktoken_special_ids
        XCTAssertEqual(Self.tiktoken.special.vocabularySize, Self.goldens.tiktoken_padded_size)
        XCTAssertEqual(Self.tiktoken.special.eos, ids["<|endoftext|>"])
        XCTAssertEqual(Self.tiktoken.special.mask, ids["[MASK]"])
        XCTAssertEqual(Self.tiktoken.special.sentinel(42), ids["<extra_id_42>"])
        XCTAssertEqual(Self.tiktoken.special.vocabularySize % 64, 0)
    }

    func testSaveAndLoadKeepEveryId() throws {
        let trained = try Tokenizer.train(documents: [try String(contentsOf: Self.fixture("corpus.txt"), encoding: .utf8)], vocabularySize: 700)
        let text = Self.goldens.cases.map(\.text).joined(separator: " ")
        for tokenizer in [trained, Self.tiktoken] {
            let dir = root.appendingPathComponent(tokenizer.rule.rawValue)
            try tokenizer.save(to: dir)
            let loaded = try TokenCodecs.load(directory: dir)
            XCTAssertEqual(loaded.name, "bpe")
            XCTAssertEqual(loaded.hash, tokenizer.hash)
            XCTAssertEqual(loaded.special, tokenizer.special)
            XCTAssertEqual(loaded.encode(text), tokenizer.encode(text))
        }
        // A .tiktoken written from GPT-2 files encodes the same (a trained vocabulary has no merge conflicts).
        let ranks = root.appendingPathComponent("trained.tiktoken")
        try trained.writeTiktoken(ranks)
        XCTAssertEqual(try Tokenizer.load(ranks).encode(text), trained.encode(text))
        // Without codec.json, TokenCodecs reads GPT-2's files and .tiktoken files as BPE (data build --tokenizer).
        XCTAssertEqual(try TokenCodecs.load(directory: ranks).hash, try Tokenizer(tiktoken: ranks).hash)
        XCTAssertEqual(try TokenCodecs.load(directory: Self.fixture("hf-vocab.json")).hash, Self.hf.hash)
        XCTAssertNotEqual(Self.hf.hash, Self.tiktoken.hash)
    }

    func testMalformedFilesNameFileAndLine() throws {
        func error(_ body: () throws -> Tokenizer) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        let vocab = root.appendingPathComponent("vocab.json"), merges = root.appendingPathComponent("merges.txt")
        let bytes = (0 ..< 256).map { "  \"\(byteLevelString([UInt8($0)]).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\": \($0)" }
        try Data(("{\n" + bytes.joined(separator: ",\n") + ",\n  \"ab\": 256\n}\n").utf8).write(to: vocab)
        try Data("#version: 0.2\na b\n".utf8).write(to: merges)
        XCTAssertEqual(try Tokenizer(vocabulary: vocab, merges: merges).encode("ab abc"), [256, 32, 256, 99])

        try Data("#version: 0.2\na b\nb q x\n".utf8).write(to: merges)
        XCTAssertTrue(error { try Tokenizer(vocabulary: vocab, merges: merges) }.hasSuffix("merges.txt:3: expected two tokens separated by one space, got \"b q x\""))
        try Data("#version: 0.2\na b\n\nb zz\n".utf8).write(to: merges)
        XCTAssertTrue(error { try Tokenizer(vocabulary: vocab, merges: merges) }.contains("merges.txt:4: token \"zz\" is not in vocab.json"))
        try Data("a c\n".utf8).write(to: merges)
        XCTAssertTrue(error { try Tokenizer(vocabulary: vocab, merges: merges) }.contains("merges.txt:1: the merged token \"ac\""))

        try Data("{\n  \"a\": 1,\n  \"b\": 2\n  \"c\": 3\n}".utf8).write(to: vocab)
        XCTAssertTrue(error { try Tokenizer(vocabulary: vocab, merges: merges) }.hasSuffix("vocab.json:4: expected , or } after the id of \"b\""))
        try Data("{\"a\": 1,\n\"b\": 1}".utf8).write(to: vocab)
        XCTAssertTrue(error { try Tokenizer(vocabulary: vocab, merges: merges) }.contains("vocab.json:2: id 1 of \"b\" is also used on line 1"))
        try Data("{\"a\": 0,\n\"b\": 1}".utf8).write(to: vocab)
        try Data("#version: 0.2\n".utf8).write(to: merges)
        XCTAssertTrue(error { try Tokenizer(vocabulary: vocab, merges: merges) }.contains("no token for byte 0x0"))

        let ranks = root.appendingPathComponent("bad.tiktoken")
        try Data("IQ== 0\n\n!!! 1\n".utf8).write(to: ranks)
        XCTAssertTrue(error { try Tokenizer(tiktoken: ranks) }.hasSuffix("bad.tiktoken:3: \"!!!\" is not base64 of a non-empty token"))
        try Data("IQ== 0\nIg== x\n".utf8).write(to: ranks)
        XCTAssertTrue(error { try Tokenizer(tiktoken: ranks) }.contains("bad.tiktoken:2: rank \"x\" is not an integer"))
        try Data(((0 ..< 256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" } + ["IQ== 256"]).joined(separator: "\n").utf8).write(to: ranks)
        XCTAssertTrue(error { try Tokenizer(tiktoken: ranks) }.contains("ids 33 and 256 are the same bytes"))
    }

    /// `nanolm data build`'s path: the registered trainer, a track built with the BPE, shards that decode
    /// back to the documents, and the tokenizer saved beside them.
    func testTrackBuildsWithTheTrainedBPE() throws {
        let corpus = try String(contentsOf: Self.fixture("corpus.txt"), encoding: .utf8)
        let docs = corpus.components(separatedBy: "\n\n").filter { $0.utf8.count > 200 }
        let dir = root.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (i, d) in docs.enumerated() { try d.write(to: dir.appendingPathComponent("doc\(i).txt"), atomically: true, encoding: .utf8) }
        let track = Track(name: "fixture", tokens: 8000, validationTokens: 500, seed: 1,
                          domains: [TrackDomain(name: "all", proportion: 1, sources: [TrackSource(paths: [dir.path])])])
        let trainer = try XCTUnwrap(TokenCodecs.trainer)
        let codec = try trainer(docs, 600)
        let builder = TrackBuilder(track: track, codec: codec)
        builder.progress = { _ in }
        let out = root.appendingPathComponent("shards")
        let index = try builder.build(into: out)
        XCTAssertEqual(index.tokenizer.name, "bpe")
        XCTAssertEqual(index.tokenizer.vocabularySize, 640)
        XCTAssertEqual(index.special.eos, 600 - 103)
        let loaded = try TokenCodecs.load(index.tokenizer.name, from: out.appendingPathComponent(try XCTUnwrap(index.tokenizer.directory)))
        XCTAssertEqual(loaded.hash, codec.hash)
        let set = try ShardSet(directory: out, split: "train")
        let pieces = set.tokens(from: 0, count: set.count).split(separator: Int32(index.special.eos), omittingEmptySubsequences: false)
        XCTAssertGreaterThan(pieces.count, 5)
        let known = Set(docs)
        for piece in pieces.dropLast(2) {  // the last document may be cut to fit the budget
            XCTAssertTrue(known.contains(loaded.decode(Array(piece))), "a decoded document is not one of the sources")
        }
    }
}
