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
/// Shards store documents back to back with EOS after each and no per-document domain; `nanolm data
/// build` writes the validation split one domain at a time in the index's domain order (TrackBuilder,
/// step 2), and the index counts each domain's documents, so the i-th document's domain follows from
/// those counts. When the counts do not add up (an index from another builder), every document gets
/// the domain "all" and the caller is told.
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
        let eos = Int32(index.special.eos)
        var pieces: [[Int32]] = []
        var current: [Int32] = []
        for t in tokens {
            if t == eos { pieces.append(current); current.removeAll(keepingCapacity: true) } else { current.append(t) }
        }
        if !current.isEmpty { pieces.append(current) }

        let split = index.splits["validation"]
        let counts = index.domains.map { split?.documentsPerDomain[$0.name] ?? 0 }
        let knows = !index.domains.isEmpty && counts.reduce(0, +) == pieces.count
        var domains: [String] = []
        if knows {
            for (d, n) in zip(index.domains, counts) { domains += Array(repeating: d.name, count: n) }
        } else {
            domains = Array(repeating: "all", count: pieces.count)
        }
        documents = zip(domains, pieces).map { HeldOutDocument(domain: $0, text: codec.decode($1)) }
        self.codec = codec
        self.index = index
        knowsDomains = knows
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
