import Foundation

/// One document of a track's validation split, decoded to text.
public struct HeldOutDocument: Equatable, Sendable {
    public var domain: String
    public var text: String
    public init(domain: String, text: String) {
        self.domain = domain
        self.text = text
    }
}

/// The validation split of a shard directory as documents with their domains.
///
/// Shards store documents back to back with EOS after each and no per-document domain; the split's
/// ``ValidationLayout`` finds each document and its domain from the index's per-domain counts. When the
/// counts do not add up (an index from another builder), every document gets the domain "all" and the
/// caller is told.
public struct HeldOutDocuments {
    public let documents: [HeldOutDocument]
    /// The tokenizer saved next to the shards (what the tasks' text must be encoded with).
    public let codec: any TokenCodec
    public let index: ShardIndex
    /// Whether documents carry their real domains.
    public let knowsDomains: Bool

    public init(directory: URL) throws {
        let index = try ShardIndex.read(directory: directory)
        let codec = try Self.codec(directory: directory, index: index)
        let stream = try ShardSet(directory: directory, split: "validation", index: index)
        let tokens = stream.tokens(from: 0, count: stream.count)
        let layout = ValidationLayout(validation: tokens, index: index)
        var start = 0
        documents = zip(layout.documentEnds, layout.documentDomains).map { end, d in
            defer { start = end }
            let piece = tokens[start ..< end].last == Int32(index.special.eos) ? tokens[start ..< end - 1] : tokens[start ..< end]
            return HeldOutDocument(domain: layout.knowsDomains ? index.domains[d].name : "all", text: codec.decode(Array(piece)))
        }
        self.codec = codec
        self.index = index
        knowsDomains = layout.knowsDomains
    }
}

extension HeldOutDocuments {
    /// The tokenizer saved next to the shards in `directory`, checked against the index's hash.
    public static func codec(directory: URL) throws -> any TokenCodec {
        let index = try ShardIndex.read(directory: directory)
        return try codec(directory: directory, index: index)
    }

    static func codec(directory: URL, index: ShardIndex) throws -> any TokenCodec {
        let codec: any TokenCodec
        do {
            codec = try TokenCodecs.load(index.tokenizer.name, from: directory.appendingPathComponent(index.tokenizer.directory ?? "tokenizer"))
        } catch {
            throw EvalError.data(directory.path, "cannot load its tokenizer (\(error)); rebuild the directory with `nanolm data build`")
        }
        guard codec.hash == index.tokenizer.hash else {
            throw EvalError.data(directory.path, "its tokenizer files (hash \(codec.hash)) are not the ones that made the shards (\(index.tokenizer.hash)); rebuild it")
        }
        return codec
    }
}
