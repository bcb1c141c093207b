import Foundation
import XCTest
import Torch
@testable import NanoLM

/// Tracks: the sampled mixture, held-out documents, repetition, determinism, what is skipped, and the
/// track file's errors. Each domain writes its own letters (alpha a–h, beta i–p, gamma q–x), so the
/// shard bytes themselves tell which domain a token came from.
final class TrackTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-track-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    static let alphabets: [(name: String, letters: ClosedRange<UInt8>)] = [
        ("alpha", UInt8(ascii: "a") ... UInt8(ascii: "h")), ("beta", UInt8(ascii: "i") ... UInt8(ascii: "p")),
        ("gamma", UInt8(ascii: "q") ... UInt8(ascii: "x")),
    ]

    /// A document: "<id> " then random words over the domain's letters.
    static func document(_ domain: Int, _ id: Int, bytes: Int, random: inout CounterRandom) -> String {
        let letters = Array(alphabets[domain].letters)
        var s = "\(id) "
        while s.utf8.count < bytes {
            s += String(decoding: (0 ..< (1 + random.next(below: 7))).map { _ in letters[random.next(below: letters.count)] }, as: UTF8.self)
            s += random.next(below: 10) == 0 ? "\n" : " "
        }
        return s
    }

    /// alpha: 200 files in a directory (plus one invalid UTF-8 file); beta: one file of blank-line
    /// separated paragraphs; gamma: a JSONL file, small, with a malformed line and a line without "text".
    func makeTrack(tokens: Int = 60_000, seed: UInt64 = 1) throws -> Track {
        var random = CounterRandom(seed: 99)
        let fm = FileManager.default
        let alpha = root.appendingPathComponent("alpha")
        try fm.createDirectory(at: alpha, withIntermediateDirectories: true)
        for i in 0 ..< 200 {
            try Self.document(0, i, bytes: 300 + random.next(below: 400), random: &random)
                .write(to: alpha.appendingPathComponent(String(format: "doc%03d.txt", i)), atomically: true, encoding: .utf8)
        }
        try Data([0x61, 0xFF, 0xFE, 0x62]).write(to: alpha.appendingPathComponent("broken.txt"))
        try "ignored".write(to: alpha.appendingPathComponent("other.md"), atomically: true, encoding: .utf8)
        let beta = (0 ..< 150).map { Self.document(1, 1000 + $0, bytes: 200 + random.next(below: 300), random: &random)
            .replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n\n")
        try beta.write(to: root.appendingPathComponent("beta.txt"), atomically: true, encoding: .utf8)
        var gamma = (0 ..< 20).map { i -> String in
            let text = Self.document(2, 2000 + i, bytes: 150 + random.next(below: 200), random: &random)
            return String(decoding: try! JSONSerialization.data(withJSONObject: ["text": text, "id": i]), as: UTF8.self)
        }
        gamma.insert("{\"text\": broken", at: 5)
        gamma.insert("{\"body\": \"no text field\"}", at: 9)
        try gamma.joined(separator: "\n").write(to: root.appendingPathComponent("gamma.jsonl"), atomically: true, encoding: .utf8)

        let json = """
            {"name": "toy", "tokens": \(tokens), "validationTokens": 3000, "seed": \(seed), "domains": [
              {"name": "alpha", "proportion": 5, "sources": [{"paths": ["alpha"], "extensions": [".txt"]}]},
              {"name": "beta", "proportion": 3, "sources": [{"paths": ["beta.txt"], "split": "paragraphs"}]},
              {"name": "gamma", "proportion": 2, "sources": [{"paths": ["*.jsonl"], "format": "jsonl"}]}
            ]}
            """
        let url = root.appendingPathComponent("toy.json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return try Track.load(url)
    }

    func build(_ track: Track, _ name: String) throws -> (ShardIndex, URL) {
        let out = root.appendingPathComponent(name)
        let builder = TrackBuilder(track: track, codec: ByteCodec())
        builder.progress = { _ in }
        builder.tokensPerShard = 20_000
        return (try builder.build(into: out), out)
    }

    /// Documents of a split, as strings, cut at EOS.
    func documents(_ dir: URL, _ split: String) throws -> [String] {
        let set = try ShardSet(directory: dir, split: split)
        let ids = set.tokens(from: 0, count: set.count)
        return ids.split(separator: 256, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0.map { UInt8($0) }, as: UTF8.self) }
    }

    func testMixtureMatchesTheProportionsInTheShardBytes() throws {
        let track = try makeTrack()
        let (index, dir) = try build(track, "out")
        let set = try ShardSet(directory: dir, split: "train")
        let ids = set.tokens(from: 0, count: set.count)
        XCTAssertEqual(ids.count, 60_000, "the budget, exactly: the last document of each domain is cut to fit")
        var letters = [Int](repeating: 0, count: 3)
        for id in ids where id < 256 {
            for (d, a) in Self.alphabets.enumerated() where a.letters.contains(UInt8(id)) { letters[d] += 1 }
        }
        let train = try XCTUnwrap(index.splits["train"])
        for (d, a) in Self.alphabets.enumerated() {
            let spec = [0.5, 0.3, 0.2][d]
            let actual = Double(train.tokensPerDomain[a.name]!) / Double(train.tokens)
            XCTAssertEqual(actual, spec, accuracy: 0.002, a.name)
            // Letters are ~80% of a document's bytes (the rest: spaces, newlines, ids, EOS), the same
            // for every domain: the byte census must show the same mixture.
            let census = Double(letters[d]) / Double(letters.reduce(0, +))
            XCTAssertEqual(census, spec, accuracy: 0.01, "\(a.name) by letters in the shards")
        }
        // Any tenth of the stream carries the mixture (domains are interleaved, not concatenated).
        let tenth = ids.count / 10
        for part in 0 ..< 10 {
            var counts = [Int](repeating: 0, count: 3)
            for id in ids[(part * tenth) ..< ((part + 1) * tenth)] where id < 256 {
                for (d, a) in Self.alphabets.enumerated() where a.letters.contains(UInt8(id)) { counts[d] += 1 }
            }
            let total = Double(counts.reduce(0, +))
            for d in 0 ..< 3 { XCTAssertEqual(Double(counts[d]) / total, [0.5, 0.3, 0.2][d], accuracy: 0.08, "tenth \(part)") }
        }
    }

    func testSmallDomainIsRepeatedAndReported() throws {
        let (index, dir) = try build(try makeTrack(), "out")
        let gamma = try XCTUnwrap(index.domains.first { $0.name == "gamma" })
        XCTAssertEqual(gamma.targetTokens, 12_000)
        XCTAssertGreaterThan(gamma.epochs, 1.5, "20 short documents cannot fill 12k tokens")
        XCTAssertEqual(gamma.epochs, Double(gamma.targetTokens) / Double(gamma.availableTokens), accuracy: 1e-9)
        let alpha = try XCTUnwrap(index.domains.first { $0.name == "alpha" })
        XCTAssertLessThan(alpha.epochs, 1)
        // Repeated documents appear several times; alpha's at most once.
        let docs = try documents(dir, "train")
        let gammaDocs = docs.filter { $0.hasPrefix("20") }
        XCTAssertGreaterThan(gammaDocs.count, Set(gammaDocs).count)
        let alphaDocs = docs.filter { Int($0.split(separator: " ").first ?? "") ?? 9999 < 200 }
        XCTAssertEqual(alphaDocs.count, Set(alphaDocs).count)
        XCTAssertTrue(summaryMentionsRepeat(index))
    }

    func summaryMentionsRepeat(_ index: ShardIndex) -> Bool { index.domains.contains { $0.epochs > 1 } }

    func testValidationIsHeldOutByDocument() throws {
        let (index, dir) = try build(try makeTrack(), "out")
        let validation = try documents(dir, "validation"), train = try documents(dir, "train")
        XCTAssertGreaterThan(validation.count, 3)
        XCTAssertEqual(validation.count, index.splits["validation"]!.documents)
        let ids = { (docs: [String]) in Set(docs.compactMap { $0.split(separator: " ").first.map(String.init) }) }
        XCTAssertTrue(ids(validation).isDisjoint(with: ids(train)), "no document is in both splits")
        for d in ["alpha", "beta", "gamma"] { XCTAssertGreaterThan(index.splits["validation"]!.tokensPerDomain[d] ?? 0, 0, d) }
    }

    /// With `validationDocumentTokens` the validation split is windows of at most that many tokens, each a piece of
    /// one source document training never reads — held out, or left unread by a domain sampled below one
    /// epoch — so it holds many more documents; the training split is byte for byte the same. gamma is
    /// repeated (every document trained on but the 2 held out, a tenth of its 20), so it gives those whole and
    /// says it fell short of its share. The layout names each document's domain, checked against its letters.
    func testValidationDocumentTokensValidatesOnWindowsOfUnreadDocuments() throws {
        var track = try makeTrack()
        let (whole, _) = try build(track, "whole")
        track.validationDocumentTokens = 100
        track.validationSplitTokens = 6000
        var said: [String] = []
        let builder = TrackBuilder(track: track, codec: ByteCodec())
        builder.progress = { said.append($0) }
        builder.tokensPerShard = 20_000
        let dir = root.appendingPathComponent("capped")
        let index = try builder.build(into: dir)
        XCTAssertEqual(index.splits["train"]!.shards.map(\.checksum), whole.splits["train"]!.shards.map(\.checksum),
                       "the validation split's windows do not change what is trained on")
        XCTAssertEqual(index.validationDocumentTokens, 100, "the index says its split is excerpts")
        XCTAssertNil(whole.validationDocumentTokens)
        XCTAssertEqual(try ShardIndex.read(directory: dir).validationDocumentTokens, 100)
        let validation = try documents(dir, "validation"), train = try documents(dir, "train")
        XCTAssertGreaterThan(index.splits["validation"]!.documents, 4 * whole.splits["validation"]!.documents)
        let tokens = index.splits["validation"]!.tokensPerDomain
        XCTAssertEqual(Double(tokens["alpha"]!), 3000, accuracy: 101, "alpha: its share of 6000 at 100 per document")
        XCTAssertEqual(Double(tokens["beta"]!), 1800, accuracy: 101)
        XCTAssertLessThan(tokens["gamma"]!, 1200 * 9 / 10)
        XCTAssertTrue(said.contains { $0.contains("warning") && $0.contains("gamma") }, "gamma's shortfall is reported: \(said)")
        let sources = try (0 ..< 200).map { try String(contentsOf: root.appendingPathComponent("alpha/" + String(format: "doc%03d.txt", $0)), encoding: .utf8) }
        let trainIDs = Set(train.compactMap { $0.split(separator: " ").first.map(String.init) })
        let layout = try ShardedData(directory: dir).validationLayout()
        XCTAssertEqual(layout.documentEnds.count, validation.count)
        var alphaSources = Set<Int>()
        for (i, piece) in validation.enumerated() {
            let domain = layout.documentDomains[i]
            XCTAssertLessThanOrEqual(piece.utf8.count, domain == 2 ? 400 : 100, "document \(i)")
            let letters = piece.utf8.filter { (97 ... 120).contains($0) }
            XCTAssertTrue(letters.allSatisfy { Self.alphabets[domain].letters.contains($0) }, "document \(i) is \(Self.alphabets[domain].name)")
            guard domain == 0 else { continue }
            let source = try XCTUnwrap(sources.firstIndex { $0.contains(piece) }, "alpha piece \(i) is a window of a source file")
            XCTAssertFalse(trainIDs.contains(String(source)), "doc\(source) is never trained on")
            alphaSources.insert(source)
        }
        XCTAssertGreaterThanOrEqual(alphaSources.count, 28, "one window from each of many alpha documents")
    }

    /// Opening a built track's batches does not scan the validation split; the layout is found when first asked
    /// for, once, and equals the split's layout read directly (documents and domains from the index).
    func testBatchSourcesFindTheValidationLayoutWhenFirstAskedFor() throws {
        let (_, dir) = try build(try makeTrack(), "lazy")
        let data = try ShardedData(directory: dir)
        let source = try XCTUnwrap(try data.batches(.causal, batchSize: 2, sequenceLength: 16, seed: 0) as? CausalLMBatches)
        let lazy = try XCTUnwrap(source.validationLayoutSource)
        XCTAssertFalse(lazy.isFound, "opening the batches scanned the validation split")
        let layout = try XCTUnwrap(source.validationLayout)
        XCTAssertTrue(lazy.isFound)
        XCTAssertEqual(layout, data.validationLayout())
        XCTAssertTrue(layout.knowsDomains)
        XCTAssertEqual(layout.documentEnds.count, try documents(dir, "validation").count)
    }

    func testBuildsAreDeterministic() throws {
        let track = try makeTrack()
        let (a, _) = try build(track, "a"), (b, _) = try build(track, "b")
        XCTAssertEqual(a.splits, b.splits)
        var other = track
        other.seed = 2
        let (c, _) = try build(other, "c")
        XCTAssertNotEqual(a.splits["train"]!.shards.map(\.checksum), c.splits["train"]!.shards.map(\.checksum))
    }

    func testSkippedInputsAreCountedAndNamed() throws {
        let (index, _) = try build(try makeTrack(), "out")
        let alpha = try XCTUnwrap(index.domains.first { $0.name == "alpha" })
        XCTAssertEqual(alpha.skipped, 1)
        XCTAssertTrue(alpha.firstSkipped?.contains("broken.txt: invalid UTF-8") ?? false, alpha.firstSkipped ?? "nil")
        XCTAssertEqual(alpha.availableDocuments + index.splits["validation"]!.documentsPerDomain["alpha"]!, 200, "other.md is not a .txt")
        let gamma = try XCTUnwrap(index.domains.first { $0.name == "gamma" })
        XCTAssertEqual(gamma.skipped, 2)
        XCTAssertTrue(gamma.firstSkipped?.contains("gamma.jsonl:6: not a JSON object") ?? false, gamma.firstSkipped ?? "nil")
    }

    func testCompressedAndCommandSources() throws {
        let text = "first paragraph\n\nsecond paragraph\nstill second\n\n\nthird"
        let plain = root.appendingPathComponent("p.txt")
        try text.write(to: plain, atomically: true, encoding: .utf8)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", "-k", plain.path]
        try gzip.run(); gzip.waitUntilExit()
        var skipped = SkipCounter()
        var docs: [String] = []
        try SourceReader().documents(of: TrackSource(paths: [plain.path + ".gz"], split: .paragraphs), skipped: &skipped) { docs.append($0) }
        XCTAssertEqual(docs, ["first paragraph", "second paragraph\nstill second", "third"])
        docs = []
        try SourceReader().documents(of: TrackSource(command: ["cat", plain.path], split: .paragraphs, minDocumentBytes: 20),
                                     skipped: &skipped) { docs.append($0) }
        XCTAssertEqual(docs, ["first paragraph\n\nsecond paragraph\nstill second", "third"])
        XCTAssertEqual(skipped.count, 0)
        // A truncated gzip file: what was read is kept and the failure is counted with the file name.
        let gz = try Data(contentsOf: URL(fileURLWithPath: plain.path + ".gz"))
        try gz.prefix(gz.count - 12).write(to: URL(fileURLWithPath: plain.path + ".gz"))
        docs = []
        try SourceReader().documents(of: TrackSource(paths: [plain.path + ".gz"]), skipped: &skipped) { docs.append($0) }
        XCTAssertEqual(skipped.count, 1)
        XCTAssertTrue(skipped.first?.contains("p.txt.gz") ?? false, skipped.first ?? "nil")
    }

    /// `tool args…` with `input` on standard input; its standard output.
    func run(_ tool: [String], input: Data) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = tool
        let inFile = root.appendingPathComponent("tool-input-\(UUID().uuidString)")
        try input.write(to: inFile)
        p.standardInput = try FileHandle(forReadingFrom: inFile)
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return data
    }

    /// Issue 19: .gz, .dz and .zst sources decompress in process (zlib, libzstd) to exactly what gzip -dc
    /// and zstd -dc print: several members or frames, more than one read buffer, trailing zeros after the
    /// last gzip member; a damaged or truncated file fails with a reason, as the tools do.
    func testInProcessDecompressionEqualsTheTools() throws {
        var random = CounterRandom(seed: 9)
        let words = ["alpha", "beta", "gamma", "delta", "épsilon", "zeta", "\n", "\n\n"]
        let text = Data((0 ..< 700_000).map { _ in words[random.next(below: words.count)] }.joined(separator: " ").utf8)
        let half = text.count / 2
        func decoded(_ name: String, _ bytes: Data) throws -> (Data, ByteLines) {
            let url = root.appendingPathComponent(name)
            try bytes.write(to: url)
            let lines = try ByteLines(file: url.path)
            return (Data(try lines.readAll()), lines)
        }
        let gz = try run(["gzip", "-c"], input: text.prefix(half)) + run(["gzip", "-c"], input: text.suffix(from: half))
        let (gzText, gzLines) = try decoded("two.txt.gz", gz + Data(count: 64))
        XCTAssertEqual(gzText, text)
        XCTAssertEqual(try run(["gzip", "-dc"], input: gz), text)
        XCTAssertFalse(gzLines.failed, gzLines.stderrTail)
        let zst = try run(["zstd", "-c", "-q"], input: text.prefix(half)) + run(["zstd", "-c", "-q"], input: text.suffix(from: half))
        let (zstText, zstLines) = try decoded("two.txt.zst", zst)
        XCTAssertEqual(zstText, text)
        XCTAssertFalse(zstLines.failed, zstLines.stderrTail)
        let dictzip = "/usr/share/dictd/gcide.dict.dz"
        if FileManager.default.fileExists(atPath: dictzip) {
            let raw = try Data(contentsOf: URL(fileURLWithPath: dictzip))
            XCTAssertEqual(try decoded("gcide.dict.dz", raw).0, try run(["gzip", "-dc"], input: raw))
        }
        for (name, bytes, reason) in [("cut.txt.gz", gz.prefix(gz.count / 3), "unexpected end"), ("cut.txt.zst", zst.prefix(zst.count / 3), "unexpected end"),
                                      ("bad.txt.gz", gz.prefix(40) + Data(repeating: 0xFF, count: 200) + gz.suffix(from: 240), "corrupt gzip"),
                                      ("bad.txt.zst", zst.prefix(40) + Data(repeating: 0xFF, count: 200) + zst.suffix(from: 240), "corrupt zstd"),
                                      ("empty.txt.gz", Data(), "unexpected end")] {
            let (_, lines) = try decoded(name, bytes)
            XCTAssertTrue(lines.failed, name)
            XCTAssertTrue(lines.stderrTail.contains(reason), "\(name): \(lines.stderrTail)")
        }
    }

    func testHTMLToText() {
        let html = "<html><head><title>x</title><style>p{}</style></head><body><!-- c --><p>Hello &amp; <b>bye</b></p>"
            + "<script>var a = '<p>';</script><p>A&#233;&#x263A; 1 &lt; 2</p></body></html>"
        XCTAssertEqual(htmlToText(html), "Hello & bye\n\nAé☺ 1 < 2")
    }

    func testByteCodecAndRendering() {
        let codec = ByteCodec()
        XCTAssertEqual(codec.special.vocabularySize % 64, 0)
        XCTAssertEqual(codec.encode("hé"), [104, 195, 169])
        XCTAssertEqual(codec.decode(codec.encode("hé ☺")), "hé ☺")
        XCTAssertEqual(render([104, 195, 169, 256, 257, -100, 383, 382], codec: codec), "hé<|endoftext|>[MASK]·<extra_id_0><extra_id_1>")
    }

    /// Every source of the nano track exists on this machine and yields real documents (the first few
    /// of each are read). Skipped where scripts/deps.sh has not installed the packages.
    func testNanoTrackSourcesYieldDocuments() throws {
        let track = BuiltinTracks.nano()
        let missing = ["/usr/share/dictd/gcide.dict.dz", "/usr/share/doc/python3.11/html/index.html", "/usr/bin/bible",
                       "/usr/share/doc/debian/FAQ", "/usr/share/doc/c++-annotations/cplusplus.latex.gz"]
            .filter { !FileManager.default.fileExists(atPath: $0) }
        try XCTSkipIf(!missing.isEmpty, "nano track packages not installed (\(missing.joined(separator: ", "))): apt-get install \(BuiltinTracks.nanoPackages.joined(separator: " "))")
        struct Enough: Error {}
        for domain in track.domains {
            for source in domain.sources {
                var skipped = SkipCounter(), docs: [String] = []
                do {
                    try SourceReader().documents(of: source, skipped: &skipped) { text in
                        docs.append(text)
                        if docs.count == 3 { throw Enough() }
                    }
                } catch is Enough {}
                XCTAssertEqual(docs.count, 3, "\(domain.name): \(source.summary)")
                for doc in docs {
                    XCTAssertGreaterThan(doc.utf8.count, 20, "\(domain.name): \(doc.prefix(80))")
                    XCTAssertFalse(doc.contains("<div"), "\(domain.name): HTML tags left in \(doc.prefix(80))")
                }
            }
        }
    }

    // MARK: track files

    func assertTrackError(_ json: String, mentions parts: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let url = root.appendingPathComponent("bad.json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Track.load(url), file: file, line: line) { error in
            for part in [url.path] + parts {
                XCTAssertTrue("\(error)".contains(part), "«\(error)» should mention «\(part)»", file: file, line: line)
            }
        }
    }

    func testTrackFileErrorsNameTheField() throws {
        try assertTrackError("{\"name\": \"x\", \"domains\": []}", mentions: ["missing field tokens"])
        try assertTrackError("{\"name\": \"x\", \"tokens\": 10, \"domains\": []}", mentions: ["domains is empty"])
        try assertTrackError("""
            {"name": "x", "tokens": 10, "domains": [{"name": "a", "proportion": 1, "sources": [{"paths": ["a"]}]},
              {"name": "b", "proportion": -1, "sources": []}]}
            """, mentions: ["domains[1].proportion"])
        try assertTrackError("""
            {"name": "x", "tokens": 10, "domains": [{"name": "a", "proportion": 1, "sources": [{"paths": ["a"], "command": ["b"]}]}]}
            """, mentions: ["domains[0].sources[0]"])
        try assertTrackError("""
            {"name": "x", "tokens": 10, "domains": [{"name": "a", "proportion": 1, "sources": [{"paths": ["a"], "format": "xml"}]}]}
            """, mentions: ["domains[0].sources[0].format"])
        try assertTrackError("{\"name\": ", mentions: ["not valid JSON"])
        try assertTrackError("""
            {"name": "x", "tokens": 10, "validationDocumentTokens": 0, "domains": [{"name": "a", "proportion": 1, "sources": [{"paths": ["a"]}]}]}
            """, mentions: ["validationDocumentTokens"])
        try assertTrackError("""
            {"name": "x", "tokens": 10, "validationSplitTokens": 100, "domains": [{"name": "a", "proportion": 1, "sources": [{"paths": ["a"]}]}]}
            """, mentions: ["validationSplitTokens", "set validationDocumentTokens too"])
        try assertTrackError("""
            {"name": "x", "tokens": 10, "validationDocumentTokens": 8, "validationSplitTokens": 0, "domains": [{"name": "a", "proportion": 1, "sources": [{"paths": ["a"]}]}]}
            """, mentions: ["validationSplitTokens must be positive"])
    }

    func testBuiltinTracks() throws {
        let table5 = [6.04, 5.22, 20.81, 49.78, 3.11, 3.81, 10.18, 1.03]
        for (name, tokens) in [("nanolm-100b", 100e9), ("nanolm-400b", 400e9), ("nanolm-1t", 1e12), ("nanolm-2t", 2e12)] {
            let track = try XCTUnwrap(BuiltinTracks.named(name))
            XCTAssertEqual(Double(track.tokens), tokens)
            for (p, percent) in zip(track.normalizedProportions, table5) { XCTAssertEqual(p, percent / 99.98, accuracy: 1e-12) }
            try track.validate()
        }
        let nano = BuiltinTracks.nano()
        try nano.validate()
        let shares = Dictionary(uniqueKeysWithValues: zip(nano.domains.map(\.name), nano.normalizedProportions))
        XCTAssertEqual(shares["encyclopedic"]!, (49.78 + 1.03) / 99.98, accuracy: 1e-12)
        XCTAssertEqual(shares["web"]!, (20.81 + 3.11) / 99.98, accuracy: 1e-12)
        XCTAssertEqual(shares["code"]!, 10.18 / 99.98, accuracy: 1e-12)
        // The printed JSON loads back to the same track.
        let url = root.appendingPathComponent("nano.json")
        try nano.json().write(to: url, atomically: true, encoding: .utf8)
        XCTAssertEqual(try Track.load(url), nano)
    }
}
