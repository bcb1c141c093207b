import Foundation

// The tokenizer's files: GPT-2's vocab.json + merges.txt (Hugging Face writes the same), tiktoken's
// .tiktoken rank files, and nanolm's tokenizer directory (codec.json next to one of those).

/// GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the other 68 bytes for
/// U+0100… in byte order, so every token is printable text in vocab.json and merges.txt.
let byteToScalar: [Unicode.Scalar] = {
    let printable = Array(0x21 ... 0x7E) + Array(0xA1 ... 0xAC) + Array(0xAE ... 0xFF)
    var map = [Unicode.Scalar](repeating: " ", count: 256), n = 0
    for b in 0 ..< 256 {
        if printable.contains(b) { map[b] = Unicode.Scalar(UInt32(b))! } else { map[b] = Unicode.Scalar(UInt32(256 + n))!; n += 1 }
    }
    return map
}()
let scalarToByte: [UInt32: UInt8] = Dictionary(uniqueKeysWithValues: byteToScalar.enumerated().map { ($1.value, UInt8($0)) })

/// A token's bytes as GPT-2 spells them in vocab.json and merges.txt.
func byteLevelString(_ bytes: [UInt8]) -> String {
    var s = String.UnicodeScalarView()
    for b in bytes { s.append(byteToScalar[Int(b)]) }
    return String(s)
}

extension Tokenizer {
    // MARK: Loading

    /// Loads a tokenizer from a directory (codec.json, or vocab.json + merges.txt, or one .tiktoken file),
    /// a `.tiktoken` file, or a `vocab.json` with merges.txt beside it (`PREFIX-vocab.json`: `PREFIX-merges.txt`).
    /// `pattern` overrides the pre-tokenizer (default: codec.json's, cl100k for a file named *cl100k*, else GPT-2's).
    public static func load(_ url: URL, pattern: PreTokenizer? = nil) throws -> Tokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw TokenizerError.invalid("\(url.path) does not exist: pass a tokenizer directory, a .tiktoken file or a vocab.json (with merges.txt beside it)")
        }
        if !isDirectory.boolValue {
            if url.pathExtension == "json" {  // GPT-2's vocab.json, or Hugging Face's PREFIX-vocab.json
                let name = url.lastPathComponent.hasSuffix("vocab.json") ? String(url.lastPathComponent.dropLast(10)) + "merges.txt" : "merges.txt"
                return try Tokenizer(vocabulary: url, merges: url.deletingLastPathComponent().appendingPathComponent(name), pattern: pattern ?? .gpt2)
            }
            return try Tokenizer(tiktoken: url, pattern: pattern)
        }
        let fm = FileManager.default
        if fm.fileExists(atPath: url.appendingPathComponent("codec.json").path) { return try Tokenizer(directory: url, pattern: pattern) }
        if fm.fileExists(atPath: url.appendingPathComponent("vocab.json").path) {
            return try Tokenizer(vocabulary: url.appendingPathComponent("vocab.json"), merges: url.appendingPathComponent("merges.txt"), pattern: pattern ?? .gpt2)
        }
        let ranks = (try? fm.contentsOfDirectory(atPath: url.path))?.filter { $0.hasSuffix(".tiktoken") }.sorted() ?? []
        guard ranks.count == 1 else {
            throw TokenizerError.invalid("\(url.path) holds no codec.json, vocab.json + merges.txt, or single .tiktoken file")
        }
        return try Tokenizer(tiktoken: url.appendingPathComponent(ranks[0]), pattern: pattern)
    }

    /// A directory written by ``save(to:)``: codec.json says which files hold the tokens.
    public convenience init(directory: URL, pattern: PreTokenizer? = nil) throws {
        let codecURL = directory.appendingPathComponent("codec.json")
        guard let data = try? Data(contentsOf: codecURL),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TokenizerError.file(path: codecURL.path, line: 1, reason: "missing or not a JSON object")
        }
        guard let saved = PreTokenizer(rawValue: object["pattern"] as? String ?? "gpt2") else {
            throw TokenizerError.file(path: codecURL.path, line: 1, reason: "field pattern must be \"gpt2\" or \"cl100k\" (got \(object["pattern"] ?? "nothing"))")
        }
        switch object["format"] as? String {
        case "gpt2":
            try self.init(vocabulary: directory.appendingPathComponent("vocab.json"), merges: directory.appendingPathComponent("merges.txt"), pattern: pattern ?? saved)
        case "tiktoken":
            try self.init(tiktoken: directory.appendingPathComponent("tokens.tiktoken"), pattern: pattern ?? saved)
        default:
            throw TokenizerError.file(path: codecURL.path, line: 1, reason: "field format must be \"gpt2\" or \"tiktoken\" (got \(object["format"] ?? "nothing"))")
        }
        if pattern == nil, let expected = object["hash"] as? String, expected != hash {
            throw TokenizerError.file(path: codecURL.path, line: 1, reason: "field hash is \(expected) but the files hash to \(hash): the files were changed after saving")
        }
    }

    /// GPT-2's files: vocab.json (token → id, tokens spelled through bytes_to_unicode; special tokens by
    /// name) and merges.txt (one ranked pair per line after an optional `#version` line).
    public convenience init(vocabulary: URL, merges: URL, pattern: PreTokenizer = .gpt2) throws {
        let entries = try parseVocabulary(vocabulary)
        var tokens: [[UInt8]] = [], specials: [String: Int32] = [:], lineOfID: [Int: Int] = [:]
        let specialNames = Set(Self.specialNames)
        for (key, id, line) in entries {
            guard id >= 0, id < 1 << 24 else { throw TokenizerError.file(path: vocabulary.path, line: line, reason: "id \(id) of \(key.debugDescription) is out of range (0..<16777216)") }
            if let other = lineOfID[id] { throw TokenizerError.file(path: vocabulary.path, line: line, reason: "id \(id) of \(key.debugDescription) is also used on line \(other)") }
            lineOfID[id] = line
            if specialNames.contains(key) { specials[key] = Int32(id); continue }
            var bytes: [UInt8] = []
            for s in key.unicodeScalars {
                guard let b = scalarToByte[s.value] else {
                    throw TokenizerError.file(path: vocabulary.path, line: line, reason: "token \(key.debugDescription) has U+\(String(s.value, radix: 16, uppercase: true)), which GPT-2's byte-to-unicode map does not use: not a byte-level BPE vocabulary")
                }
                bytes.append(b)
            }
            guard !bytes.isEmpty else { throw TokenizerError.file(path: vocabulary.path, line: line, reason: "empty token") }
            if tokens.count <= id { tokens += Array(repeating: [], count: id + 1 - tokens.count) }
            tokens[id] = bytes
        }
        var idOf: [String: Int32] = [:]
        for (key, id, _) in entries where !specialNames.contains(key) { idOf[key] = Int32(id) }

        guard let text = try? String(contentsOf: merges, encoding: .utf8) else {
            throw TokenizerError.file(path: merges.path, line: 1, reason: FileManager.default.fileExists(atPath: merges.path)
                ? "cannot read as UTF-8 text" : "no such file: GPT-2's merges.txt goes with \(vocabulary.lastPathComponent)")
        }
        var pairs: [(Int32, Int32)] = []
        for (n, line) in textLines(text).enumerated() {
            if line.isEmpty || (n == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.file(path: merges.path, line: n + 1, reason: "expected two tokens separated by one space, got \(String(line).debugDescription)")
            }
            guard let a = idOf[String(parts[0])], let b = idOf[String(parts[1])] else {
                let missing = idOf[String(parts[0])] == nil ? parts[0] : parts[1]
                throw TokenizerError.file(path: merges.path, line: n + 1, reason: "token \(String(missing).debugDescription) is not in \(vocabulary.lastPathComponent)")
            }
            guard idOf[String(parts[0]) + String(parts[1])] != nil else {
                throw TokenizerError.file(path: merges.path, line: n + 1, reason: "the merged token \((String(parts[0]) + String(parts[1])).debugDescription) is not in \(vocabulary.lastPathComponent)")
            }
            pairs.append((a, b))
        }
        do { try self.init(rule: .merges, tokens: tokens, merges: pairs, specials: specials, pattern: pattern) } catch let TokenizerError.invalid(reason) {
            throw TokenizerError.invalid("\(vocabulary.path): \(reason)")
        }
    }

    /// tiktoken's rank file: `base64(token bytes) rank` per line; ranks are the ids. Special tokens are
    /// not in the file: EOS, [MASK], [PAD] follow the last rank, sentinels descend from the padded top
    /// (cl100k_base's EOS keeps tiktoken's id, 100257). `pattern`: cl100k for a file named *cl100k*.
    public convenience init(tiktoken url: URL, pattern: PreTokenizer? = nil) throws {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw TokenizerError.file(path: url.path, line: 1, reason: "cannot read as UTF-8 text")
        }
        var tokens: [[UInt8]] = [], lineOfRank: [Int: Int] = [:]
        for (n, line) in textLines(text).enumerated() where !line.isEmpty {
            let fields = line.split(separator: " ")
            func fail(_ reason: String) -> TokenizerError { .file(path: url.path, line: n + 1, reason: reason) }
            guard fields.count == 2 else { throw fail("expected `base64-token rank`, got \(String(line.prefix(80)).debugDescription)") }
            guard let data = Data(base64Encoded: String(fields[0])), !data.isEmpty else { throw fail("\(String(fields[0]).debugDescription) is not base64 of a non-empty token") }
            guard let rank = Int(fields[1]), rank >= 0, rank < 1 << 24 else { throw fail("rank \(String(fields[1]).debugDescription) is not an integer in 0..<16777216") }
            if let other = lineOfRank[rank] { throw fail("rank \(rank) is also used on line \(other)") }
            lineOfRank[rank] = n + 1
            if tokens.count <= rank { tokens += Array(repeating: [], count: rank + 1 - tokens.count) }
            tokens[rank] = [UInt8](data)
        }
        let pattern = pattern ?? (url.lastPathComponent.contains("cl100k") ? .cl100k : .gpt2)
        do { try self.init(rule: .ranks, tokens: tokens, pattern: pattern) } catch let TokenizerError.invalid(reason) {
            throw TokenizerError.invalid("\(url.path): \(reason)")
        }
    }

    // MARK: Saving

    /// Writes codec.json and the token files (vocab.json + merges.txt, or tokens.tiktoken for rule `.ranks`).
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch rule {
        case .merges: try writeGPT2(vocabulary: directory.appendingPathComponent("vocab.json"), merges: directory.appendingPathComponent("merges.txt"))
        case .ranks: try writeTiktoken(directory.appendingPathComponent("tokens.tiktoken"))
        }
        let codec: [String: Any] = ["name": name, "format": rule == .merges ? "gpt2" : "tiktoken", "hash": hash,
                                    "vocabulary_size": special.vocabularySize, "pattern": pattern.rawValue]
        try JSONSerialization.data(withJSONObject: codec, options: [.sortedKeys, .prettyPrinted])
            .write(to: directory.appendingPathComponent("codec.json"), options: .atomic)
    }

    /// GPT-2's vocab.json (one entry per line, in id order, specials included) and merges.txt.
    public func writeGPT2(vocabulary: URL, merges: URL) throws {
        var entries: [(String, Int)] = tokens.enumerated().compactMap { $1.isEmpty ? nil : (byteLevelString($1), $0) }
        entries += specialIDs.map { ($0, Int($1)) }
        entries.sort { $0.1 < $1.1 }
        let body = entries.map { "  \(jsonString($0.0)): \($0.1)" }.joined(separator: ",\n")
        // Atomic (a temporary file renamed into place): a full disk leaves no empty or partial vocab.json.
        try Data("{\n\(body)\n}\n".utf8).write(to: vocabulary, options: .atomic)
        var text = "#version: 0.2\n"
        for (a, b) in self.merges { text += byteLevelString(tokens[Int(a)]) + " " + byteLevelString(tokens[Int(b)]) + "\n" }
        try Data(text.utf8).write(to: merges, options: .atomic)
    }

    /// tiktoken's rank file: every ordinary token with its id as rank.
    public func writeTiktoken(_ url: URL) throws {
        var text = ""
        for (id, bytes) in tokens.enumerated() where !bytes.isEmpty { text += Data(bytes).base64EncodedString() + " \(id)\n" }
        try Data(text.utf8).write(to: url, options: .atomic)
    }
}

private func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// vocab.json as (key, id, line) in file order. A small parser of one flat JSON object of integers,
/// so errors can name the line.
private func parseVocabulary(_ url: URL) throws -> [(String, Int, Int)] {
    guard let data = try? Data(contentsOf: url) else { throw TokenizerError.file(path: url.path, line: 1, reason: "cannot read") }
    let bytes = [UInt8](data)
    var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0, line = 1   // after a UTF-8 byte-order mark
    func fail(_ reason: String) -> TokenizerError { .file(path: url.path, line: line, reason: reason) }
    func skipSpace() {
        while i < bytes.count, isASCIISpace(bytes[i]) { if bytes[i] == 0x0A { line += 1 }; i += 1 }
    }
    func expect(_ c: UInt8, _ what: String) throws {
        skipSpace()
        guard i < bytes.count, bytes[i] == c else { throw fail("expected \(what)") }
        i += 1
    }
    func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i ..< i + 4], as: UTF8.self), radix: 16) else { throw fail("bad \\u escape") }
        i += 4
        return v
    }
    func string() throws -> String {
        try expect(0x22, "a string in double quotes")
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]; i += 1
            if c == 0x22 { break }
            if c == 0x0A { throw fail("newline inside a string") }
            guard c == 0x5C else { out.append(c); continue }
            guard i < bytes.count else { throw fail("unterminated string") }
            let e = bytes[i]; i += 1
            switch e {
            case 0x22, 0x5C, 0x2F: out.append(e)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var v = try hex4()
                if v >= 0xD800, v < 0xDC00, i + 6 <= bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75 {
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00, low < 0xE000 else { throw fail("unpaired surrogate in \\u escape") }
                    v = 0x10000 + (v - 0xD800) << 10 + (low - 0xDC00)
                }
                guard let s = Unicode.Scalar(v) else { throw fail("unpaired surrogate in \\u escape") }
                out.append(contentsOf: Array(String(s).utf8))
            default: throw fail("unknown escape \\\(Unicode.Scalar(e))")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("a key is not valid UTF-8") }
        return s
    }
    var entries: [(String, Int, Int)] = []
    var seen = Set<String>()
    try expect(0x7B, "{: vocab.json is one JSON object of token → id")
    skipSpace()
    if i < bytes.count, bytes[i] == 0x7D { i += 1 } else {
        while true {
            let key = try string()
            let keyLine = line
            try expect(0x3A, ": after a key")
            skipSpace()
            let start = i
            while i < bytes.count, bytes[i] == 0x2D || (bytes[i] >= 0x30 && bytes[i] <= 0x39) { i += 1 }
            guard let id = Int(String(decoding: bytes[start ..< i], as: UTF8.self)) else { throw fail("the id of \(key.debugDescription) is not an integer") }
            guard seen.insert(key).inserted else { throw fail("token \(key.debugDescription) appears twice") }
            entries.append((key, id, keyLine))
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated object: expected , or }") }
            if bytes[i] == 0x2C { i += 1; continue }
            if bytes[i] == 0x7D { i += 1; break }
            throw fail("expected , or } after the id of \(key.debugDescription)")
        }
    }
    skipSpace()
    guard i == bytes.count else { throw fail("text after the closing }") }
    return entries
}
