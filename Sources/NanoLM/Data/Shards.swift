import Foundation
import ModelSpec
import Torch

// A shard directory:
//
//     index.json                 ShardIndex: track, tokenizer hash, special ids, shards, tokens per domain
//     train-00000.bin …          little-endian uint16 tokens (uint32 when the vocabulary exceeds 65535),
//     validation-00000.bin …     no header; documents packed with EOS after each one
//
// Readers memory-map the .bin files; nothing is loaded until a batch touches it.

/// A problem with a shard directory, naming the file.
public enum ShardError: Error, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case corruptIndex(file: String, reason: String)
    case corruptShard(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read: \(reason)"
        case let .corruptIndex(file, reason): return "\(file): invalid shard index: \(reason). Rebuild it with `nanolm data build`."
        case let .corruptShard(file, reason): return "\(file): corrupt shard: \(reason). Rebuild the directory with `nanolm data build`."
        }
    }
}

/// Token width on disk.
public enum TokenDType: String, Codable, Sendable {
    case uint16, uint32
    public var byteCount: Int { self == .uint16 ? 2 : 4 }
    /// uint16 when every id fits (vocabulary ≤ 65536), else uint32.
    public static func fitting(vocabularySize: Int) -> TokenDType { vocabularySize <= 65536 ? .uint16 : .uint32 }
}

/// index.json of a shard directory.
public struct ShardIndex: Codable, Equatable, Sendable {
    public static let fileName = "index.json"
    public static let currentFormat = 1

    public struct Shard: Codable, Equatable, Sendable {
        /// File name relative to the directory.
        public var file: String
        public var tokens: Int
        public var documents: Int
        /// FNV-1a 64 of the file's bytes, hex (nil in indexes written before checksums were).
        public var checksum: String?
    }

    public struct Split: Codable, Equatable, Sendable {
        public var shards: [Shard]
        public var tokens: Int
        public var documents: Int
        /// Tokens per domain, EOS included.
        public var tokensPerDomain: [String: Int]
        public var documentsPerDomain: [String: Int]
    }

    /// What the sampler did with one domain (see TrackBuilder).
    public struct DomainReport: Codable, Equatable, Sendable {
        public var name: String
        public var proportion: Double
        /// Tokens the proportion asks for in the training split.
        public var targetTokens: Int
        /// Tokens the sources yield (training documents only, EOS included).
        public var availableTokens: Int
        public var availableDocuments: Int
        /// targetTokens / availableTokens: above 1 the domain is repeated.
        public var epochs: Double
        public var sources: [String]
        /// Documents skipped (empty, unreadable, invalid UTF-8), with the first offending file.
        public var skipped: Int
        public var firstSkipped: String?
    }

    public struct TokenizerInfo: Codable, Equatable, Sendable {
        public var name: String
        /// A hash of the tokenizer's files: batches and checkpoints must use the tokenizer that made the shards.
        public var hash: String
        public var vocabularySize: Int
        /// Where the tokenizer files were saved, relative to the directory (nil when it has none).
        public var directory: String?
    }

    public var format: Int
    public var track: String
    public var seed: UInt64
    public var dtype: TokenDType
    public var tokenizer: TokenizerInfo
    public var special: SpecialTokens
    /// "train" and "validation".
    public var splits: [String: Split]
    public var domains: [DomainReport]
    public var created: String
    /// The most tokens one validation document gave (the track's `validationDocumentTokens`): the validation
    /// split is excerpts of documents training never read. nil: the held-out documents, whole (every build
    /// before a57bbd5).
    public var validationDocumentTokens: Int? = nil

    public static func read(directory: URL) throws -> ShardIndex {
        let url = directory.appendingPathComponent(fileName)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ShardError.unreadable(file: url.path, reason: "\(error.localizedDescription) (is \(directory.path) a directory made by `nanolm data build`?)")
        }
        let index: ShardIndex
        do { index = try JSONDecoder().decode(ShardIndex.self, from: data) } catch let error as DecodingError {
            throw ShardError.corruptIndex(file: url.path, reason: describe(error))
        } catch {
            throw ShardError.corruptIndex(file: url.path, reason: "\(error)")
        }
        guard index.format == currentFormat else {
            throw ShardError.corruptIndex(file: url.path, reason: "format \(index.format), this nanolm reads format \(currentFormat)")
        }
        try index.validate(file: url.path)
        return index
    }

    /// Checks what the readers compute with: counts that are not negative and whose sums and byte sizes
    /// fit an Int, shard files inside the directory, special ids inside the vocabulary.
    func validate(file: String) throws {
        func fail(_ reason: String) -> ShardError { .corruptIndex(file: file, reason: reason) }
        guard (1 ... Limits.vocabularySize).contains(tokenizer.vocabularySize) else {
            throw fail("field tokenizer.vocabularySize must be in 1...\(Limits.vocabularySize), got \(tokenizer.vocabularySize)")
        }
        if let problem = special.problem { throw fail("field special: \(problem)") }
        for (name, split) in splits.sorted(by: { $0.key < $1.key }) {
            var sum = 0
            for (i, shard) in split.shards.enumerated() {
                let field = "splits.\(name).shards[\(i)]"
                guard shard.tokens >= 0, shard.documents >= 0 else { throw fail("field \(field): tokens and documents must not be negative") }
                guard !shard.tokens.multipliedReportingOverflow(by: dtype.byteCount).overflow else {
                    throw fail("field \(field).tokens: \(shard.tokens) tokens are more bytes than a file can hold")
                }
                guard !shard.file.isEmpty, !shard.file.contains("/"), shard.file != ".", shard.file != ".." else {
                    throw fail("field \(field).file must name a file in the directory, got \(shard.file.debugDescription)")
                }
                let (next, overflow) = sum.addingReportingOverflow(shard.tokens)
                guard !overflow else { throw fail("field splits.\(name): the shards' token counts overflow when summed") }
                sum = next
            }
            guard sum == split.tokens else { throw fail("splits.\(name).tokens is \(split.tokens) but its shards hold \(sum)") }
        }
    }

    public func write(directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
    }
}

/// "field a.b[2].c: what is wrong" for a JSON decoding error.
public func describe(_ error: DecodingError) -> String {
    func path(_ keys: [CodingKey]) -> String {
        let p = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return p.hasPrefix(".") ? String(p.dropFirst()) : (p.isEmpty ? "(top level)" : p)
    }
    switch error {
    case let .keyNotFound(key, ctx): return "missing field \(path(ctx.codingPath + [key]))"
    case let .typeMismatch(_, ctx): return "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
    case let .valueNotFound(_, ctx): return "field \(path(ctx.codingPath)) is null: \(ctx.debugDescription)"
    case let .dataCorrupted(ctx):
        let underlying = (ctx.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
        return ctx.codingPath.isEmpty ? "not valid JSON\(underlying.map { ": \($0)" } ?? "")"
            : "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
    @unknown default: return "\(error)"
    }
}

/// FNV-1a, 64 bit: a dependency-free content hash for shards and tokenizer files (not cryptographic).
public struct FNV1a64 {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        value = h
    }
    public mutating func update(_ data: Data) { data.withUnsafeBytes { update($0) } }
    public mutating func update(_ string: String) { var s = string; s.withUTF8 { update(UnsafeRawBufferPointer($0)) } }
    public var hex: String { String(format: "%016llx", value) }
}

// MARK: - Writing

/// Streams documents into numbered shard files of one split: memory stays at one write buffer whatever
/// the corpus size.
public final class ShardWriter {
    public let directory: URL
    public let split: String
    public let dtype: TokenDType
    public let eos: Int
    public let tokensPerShard: Int
    public private(set) var shards: [ShardIndex.Shard] = []
    public private(set) var tokensPerDomain: [String: Int] = [:]
    public private(set) var documentsPerDomain: [String: Int] = [:]

    var handle: FileHandle?
    var buffer = Data()
    var hash = FNV1a64()
    var current = ShardIndex.Shard(file: "", tokens: 0, documents: 0, checksum: "")

    public init(directory: URL, split: String, dtype: TokenDType, eos: Int, tokensPerShard: Int = 50_000_000) {
        self.directory = directory
        self.split = split
        self.dtype = dtype
        self.eos = eos
        self.tokensPerShard = max(tokensPerShard, 1)
    }

    public var tokens: Int { shards.reduce(0) { $0 + $1.tokens } + current.tokens }

    /// Appends one document and the EOS after it (a document never straddles two shards).
    public func append(_ document: [Int32], domain: String) throws {
        if handle == nil || current.tokens >= tokensPerShard { try startShard() }
        switch dtype {
        case .uint16:
            var words = document.map { UInt16(truncatingIfNeeded: $0).littleEndian }
            words.append(UInt16(truncatingIfNeeded: eos).littleEndian)
            words.withUnsafeBytes { buffer.append(contentsOf: $0) }
        case .uint32:
            var words = document.map { UInt32(bitPattern: $0).littleEndian }
            words.append(UInt32(truncatingIfNeeded: eos).littleEndian)
            words.withUnsafeBytes { buffer.append(contentsOf: $0) }
        }
        current.tokens += document.count + 1
        current.documents += 1
        tokensPerDomain[domain, default: 0] += document.count + 1
        documentsPerDomain[domain, default: 0] += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        guard let handle, !buffer.isEmpty else { return }
        hash.update(buffer)
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func startShard() throws {
        try closeShard()
        let name = String(format: "%@-%05d.bin", split, shards.count)
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw ShardError.unreadable(file: url.path, reason: "cannot create the file")
        }
        handle = try FileHandle(forWritingTo: url)
        hash = FNV1a64()
        current = ShardIndex.Shard(file: name, tokens: 0, documents: 0, checksum: "")
    }

    func closeShard() throws {
        guard let h = handle else { return }
        try flush()
        try h.close()
        handle = nil
        current.checksum = hash.hex
        shards.append(current)
    }

    /// Closes the last shard and returns the split's index entry.
    public func finish() throws -> ShardIndex.Split {
        try closeShard()
        return ShardIndex.Split(shards: shards, tokens: shards.reduce(0) { $0 + $1.tokens },
                                documents: shards.reduce(0) { $0 + $1.documents },
                                tokensPerDomain: tokensPerDomain, documentsPerDomain: documentsPerDomain)
    }
}

// MARK: - Reading

/// One split of a shard directory as a single memory-mapped token stream.
public struct ShardSet: TokenStream {
    public let directory: URL
    public let split: String
    public let dtype: TokenDType
    let maps: [Data]
    /// starts[i]: global position of shard i's first token; starts.last == count.
    let starts: [Int]

    public var count: Int { starts.last ?? 0 }

    /// Maps every shard of `split`, checking each file's size against the index (and, with
    /// `verifyChecksums`, its content).
    public init(directory: URL, split: String, index: ShardIndex? = nil, verifyChecksums: Bool = false) throws {
        let index = try index ?? ShardIndex.read(directory: directory)
        guard let entry = index.splits[split] else {
            throw ShardError.corruptIndex(file: directory.appendingPathComponent(ShardIndex.fileName).path,
                                          reason: "no split \"\(split)\" (it has: \(index.splits.keys.sorted().joined(separator: ", ")))")
        }
        var maps: [Data] = [], starts = [0]
        for shard in entry.shards {
            let url = directory.appendingPathComponent(shard.file)
            let data: Data
            do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
                throw ShardError.unreadable(file: url.path, reason: error.localizedDescription)
            }
            let expected = shard.tokens * index.dtype.byteCount   // validated: no overflow
            guard data.count == expected else {
                throw ShardError.corruptShard(file: url.path,
                    reason: "\(data.count) bytes, but the index says \(shard.tokens) \(index.dtype.rawValue) tokens = \(expected) bytes (truncated or overwritten?)")
            }
            if verifyChecksums, let checksum = shard.checksum {
                var h = FNV1a64(); h.update(data)
                guard h.hex == checksum else {
                    throw ShardError.corruptShard(file: url.path, reason: "checksum \(h.hex), the index says \(checksum) (damaged or overwritten since it was built)")
                }
            }
            maps.append(data)
            starts.append(starts.last! + shard.tokens)
        }
        self.directory = directory
        self.split = split
        self.dtype = index.dtype
        self.maps = maps
        self.starts = starts
    }

    public func tokens(from start: Int, count length: Int) -> [Int32] {
        precondition(start >= 0 && length >= 0 && start + length <= count,
                     "tokens \(start)..<\(start + length) lie outside the \(count) tokens of \(directory.path) (\(split))")
        var out = [Int32](repeating: 0, count: length)
        var position = start, written = 0
        // Last shard whose start ≤ position (binary search).
        var lo = 0, hi = maps.count - 1
        while lo < hi { let mid = (lo + hi + 1) / 2; if starts[mid] <= position { lo = mid } else { hi = mid - 1 } }
        var shard = lo
        while written < length {
            while starts[shard + 1] <= position { shard += 1 }
            let offset = position - starts[shard]
            let n = min(length - written, starts[shard + 1] - position)
            let width = dtype.byteCount
            maps[shard].withUnsafeBytes { raw in
                for k in 0 ..< n {
                    let byte = (offset + k) * width
                    out[written + k] = width == 2
                        ? Int32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: byte, as: UInt16.self)))
                        : Int32(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: byte, as: UInt32.self)))
                }
            }
            written += n
            position += n
        }
        return out
    }
}

/// The training objective a batch source serves.
public enum DataObjective: String, Codable, CaseIterable, Sendable {
    case causal, masked, spans

    /// GPT and Llama learn causal LM, BERT masked LM, T5 span corruption.
    public init(_ architecture: Architecture) {
        switch architecture {
        case .gpt, .llama: self = .causal
        case .bert: self = .masked
        case .t5: self = .spans
        }
    }
}

/// A shard directory opened for training: both splits mapped, the index at hand.
public struct ShardedData {
    public let directory: URL
    public let index: ShardIndex
    public let training: ShardSet
    public let validation: ShardSet

    public init(directory: URL, verifyChecksums: Bool = false) throws {
        let index = try ShardIndex.read(directory: directory)
        self.directory = directory
        self.index = index
        training = try ShardSet(directory: directory, split: "train", index: index, verifyChecksums: verifyChecksums)
        validation = try ShardSet(directory: directory, split: "validation", index: index, verifyChecksums: verifyChecksums)
    }

    /// The batch source for `objective`: `sequenceLength` is the causal/MLM window and T5's encoder
    /// input length (targets then follow T5's `random_spans_helper`).
    public func batches(_ objective: DataObjective, batchSize: Int, sequenceLength: Int, seed: UInt64,
                        maskProbability: Double = 0.15, noiseDensity: Double = 0.15,
                        meanNoiseSpanLength: Double = 3) throws -> any BatchSource {
        let layout = LazyValidationLayout { [self] in validationLayout() }
        switch objective {
        case .causal:
            var source = try CausalLMBatches(trainingStream: training, validationStream: validation, batchSize: batchSize,
                                             sequenceLength: sequenceLength, seed: seed)
            source.validationLayoutSource = layout
            return source
        case .masked:
            var source = try MaskedLMBatches(training: training, validation: validation, batchSize: batchSize,
                                             sequenceLength: sequenceLength, seed: seed, special: index.special,
                                             maskProbability: maskProbability)
            source.validationLayoutSource = layout
            return source
        case .spans:
            var source = try SpanCorruptionBatches(training: training, validation: validation, batchSize: batchSize,
                                                   inputLength: sequenceLength, seed: seed, special: index.special,
                                                   noiseDensity: noiseDensity, meanNoiseSpanLength: meanNoiseSpanLength)
            source.validationLayoutSource = layout
            return source
        }
    }
}
