import Foundation

/// What the data pipeline needs from a tokenizer: encode documents, decode samples, name its special
/// ids, and identify itself by a hash of its files. The byte-level BPE (``Tokenizer``) conforms;
/// ``ByteCodec`` needs no training and serves tests and a first look at a corpus.
///
/// `encode` is called from several threads at once (documents are encoded in parallel).
public protocol TokenCodec {
    /// "bytes", "bpe", …: how ``TokenCodecs/load(_:from:)`` finds it again.
    var name: String { get }
    /// A hash of everything that determines the ids (vocabulary, merges, specials).
    var hash: String { get }
    var special: SpecialTokens { get }
    func encode(_ text: String) -> [Int32]
    func decode(_ ids: [Int32]) -> String
    /// Writes the files ``TokenCodecs/load(_:from:)`` reads back.
    func save(to directory: URL) throws
}

/// Bytes as tokens: ids 0–255 are the UTF-8 bytes, then `<|endoftext|>` 256, `[MASK]` 257, `[PAD]` 258;
/// the vocabulary is padded to 384 (a multiple of 64) and T5's 100 sentinels descend from 383.
public struct ByteCodec: TokenCodec, Sendable {
    public init() {}
    public var name: String { "bytes" }
    public var hash: String { "bytes-v1" }
    public var special: SpecialTokens {
        SpecialTokens(vocabularySize: 384, eos: 256, mask: 257, pad: 258, sentinels: (0 ..< 100).map { 383 - $0 },
                      randomTokenBound: 256)
    }
    public func encode(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }
    public func decode(_ ids: [Int32]) -> String {
        var out = "", bytes: [UInt8] = []
        func flush() { out += String(decoding: bytes, as: UTF8.self); bytes.removeAll() }
        for id in ids {
            if id >= 0 && id < 256 { bytes.append(UInt8(id)); continue }
            flush()
            out += tokenName(Int(id), special)
        }
        flush()
        return out
    }
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("{\"name\": \"bytes\"}\n".utf8).write(to: directory.appendingPathComponent("codec.json"))
    }
}

/// How a special id prints in decoded samples.
func tokenName(_ id: Int, _ special: SpecialTokens) -> String { special.displayName(id) ?? "<\(id)>" }

extension SpecialTokens {
    /// `<|endoftext|>`, `[MASK]`, `[PAD]`, `<extra_id_N>`, `·` for the ignore index; nil for other ids.
    public func displayName(_ id: Int) -> String? {
        if id == eos { return "<|endoftext|>" }
        if id == mask { return "[MASK]" }
        if id == pad { return "[PAD]" }
        if id == Batch.ignoreIndex { return "·" }
        for i in 0 ..< max(sentinels.count, 100) where sentinel(i) == id { return "<extra_id_\(i)>" }
        return nil
    }
}

/// Readable text for a row of a batch: runs of ordinary ids decoded together (so multi-byte characters
/// survive), special ids by name, ignored targets as `·`.
public func render(_ ids: [Int32], codec: any TokenCodec) -> String {
    var out = "", run: [Int32] = []
    func flush() { if !run.isEmpty { out += codec.decode(run); run.removeAll() } }
    for id in ids {
        if let name = codec.special.displayName(Int(id)) { flush(); out += name } else { run.append(id) }
    }
    flush()
    return out
}

/// Where tokenizers come from: loading one saved next to shards, and training one on a text sample.
/// Other tokenizers plug in here (``register(name:load:)``, ``trainer``).
public enum TokenCodecs {
    nonisolated(unsafe) static var loaders: [String: (URL) throws -> any TokenCodec] = [
        "bytes": { _ in ByteCodec() },
        "bpe": { try Tokenizer(directory: $0) },
    ]

    /// Trains a tokenizer with `vocabularySize` ids on sample documents: the byte-level BPE unless replaced.
    nonisolated(unsafe) public static var trainer: ((_ sample: [String], _ vocabularySize: Int) throws -> any TokenCodec)? = {
        try Tokenizer.train(documents: $0, vocabularySize: $1)
    }

    public static func register(name: String, load: @escaping (URL) throws -> any TokenCodec) {
        loaders[name] = load
    }

    /// Loads the tokenizer `name` saved in `directory`.
    public static func load(_ name: String, from directory: URL) throws -> any TokenCodec {
        guard let loader = loaders[name] else {
            throw TrackError.invalid(file: directory.path,
                                     reason: "unknown tokenizer \"\(name)\" (this nanolm knows: \(loaders.keys.sorted().joined(separator: ", ")))")
        }
        return try loader(directory)
    }

    /// Reads a tokenizer directory: codec.json names its kind ({"name": "bytes"}). Without codec.json,
    /// GPT-2's files or a tiktoken rank file (a directory holding them, or the file itself) load as BPE.
    public static func load(directory: URL) throws -> any TokenCodec {
        let url = directory.appendingPathComponent("codec.json")
        if !FileManager.default.fileExists(atPath: url.path) { return try Tokenizer.load(directory) }
        guard let data = try? Data(contentsOf: url),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let name = object["name"] as? String
        else {
            throw TrackError.invalid(file: url.path, reason: "missing or invalid: a tokenizer directory needs codec.json with a \"name\" field")
        }
        return try load(name, from: directory)
    }
}
