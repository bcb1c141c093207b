import Dispatch
import Foundation

/// Byte-level BPE exactly as GPT-2: text is split at special tokens, then into pre-tokens by GPT-2's
/// pattern (a hand-written scanner, ``preTokenize(_:_:_:)``), and each pre-token's UTF-8 bytes are merged
/// pairwise, lowest rank first, leftmost first among equals.
///
/// Two merge rules cover the two file formats:
/// - ``MergeRule/merges`` (GPT-2's `vocab.json` + `merges.txt`, Hugging Face `tokenizers`): a pair merges
///   only if merges.txt lists it; its rank is its line.
/// - ``MergeRule/ranks`` (tiktoken's `.tiktoken`): a pre-token that is a token is taken whole; otherwise a
///   pair merges if its concatenation is a token, ranked by that token's id.
///
/// Ids: the file's ids; specials the files do not name are added (``Tokenizer/specialNames``): EOS,
/// `[MASK]`, `[PAD]` after the last id, T5's sentinels descending from the top of the vocabulary padded
/// to a multiple of 64. Thread-safe: `encode` is called from many threads at once.
public final class Tokenizer: TokenCodec, @unchecked Sendable {
    public enum MergeRule: String, Sendable { case merges, ranks }

    /// `<|endoftext|>`, `[MASK]`, `[PAD]`, `<extra_id_0>` … `<extra_id_99>`: in this order when added.
    public static let specialNames = ["<|endoftext|>", "[MASK]", "[PAD]"] + (0 ..< 100).map { "<extra_id_\($0)>" }

    public let rule: MergeRule
    /// How text is cut into pre-tokens: GPT-2's pattern, or cl100k_base's for its .tiktoken file.
    public let pattern: PreTokenizer
    /// Bytes of each ordinary token by id; empty for special and unused ids.
    public let tokens: [[UInt8]]
    /// Ranked pairs of ids (rule `.merges`; empty for `.ranks`).
    public let merges: [(Int32, Int32)]
    /// Id of each special token by name.
    public let specialIDs: [String: Int32]
    public let special: SpecialTokens
    public let hash: String
    public var name: String { "bpe" }
    /// Ids that are ordinary tokens (the vocabulary without specials and padding).
    public var ordinaryCount: Int { tokens.lazy.filter { !$0.isEmpty }.count }

    // Raw memory rather than arrays and classes: threads encoding at once share them without
    // touching reference counts (which would bounce one cache line between cores).
    let byteIDs: UnsafeMutablePointer<Int32>  // 256
    let pairs: PairTable
    let pieces: PieceTable  // every ordinary token by its bytes (whole-piece lookup of rule .ranks)
    let specialByID: [Int32: String]
    private let scratchPool = ScratchPool()

    /// - Parameters:
    ///   - tokens: the ordinary tokens' bytes by id (empty: the id is not an ordinary token).
    ///   - merges: ranked pairs of ids for rule `.merges` (each pair's concatenation must be a token).
    ///   - specials: ids of the special tokens the files name; the rest are added.
    ///   - pattern: the pre-tokenizer (GPT-2's unless the files come from cl100k_base).
    public init(rule: MergeRule, tokens: [[UInt8]], merges: [(Int32, Int32)] = [], specials: [String: Int32] = [:],
                pattern: PreTokenizer = .gpt2) throws {
        self.rule = rule
        self.pattern = pattern
        self.merges = rule == .merges ? merges : []
        pieces = PieceTable(tokens)
        if let (a, b) = pieces.duplicates.first {
            throw TokenizerError.invalid("ids \(a) and \(b) are the same bytes \(Data(tokens[Int(b)]).base64EncodedString()) (base64): every token must be distinct")
        }
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0 ..< 256 {
            guard let id = pieces.id(of: [UInt8(b)]) else {
                throw TokenizerError.invalid("the vocabulary has no token for byte 0x\(String(b, radix: 16, uppercase: true)): a byte-level vocabulary needs all 256 bytes")
            }
            byteIDs[b] = id
        }

        // Special ids: the files' own, then EOS/[MASK]/[PAD] after the last id, sentinels from the top.
        var ids = specials
        if pattern == .cl100k, tokens.count == 100_256, ids["<|endoftext|>"] == nil { ids["<|endoftext|>"] = 100_257 }  // tiktoken's
        var used = Set(ids.values)
        var next = Int32(max(tokens.count, Int(ids.values.max() ?? -1) + 1))
        for name in Self.specialNames.prefix(3) where ids[name] == nil {
            while used.contains(next) { next += 1 }
            ids[name] = next; used.insert(next); next += 1
        }
        let missingSentinels = Self.specialNames.dropFirst(3).filter { ids[$0] == nil }
        let size = roundUp(max(Int(next), Int(used.max() ?? 0) + 1) + missingSentinels.count, 64)
        var top = Int32(size - 1)
        for name in missingSentinels {
            while used.contains(top) { top -= 1 }
            ids[name] = top; used.insert(top)
        }
        var tokens = tokens
        if tokens.count < size { tokens += Array(repeating: [], count: size - tokens.count) }
        for id in ids.values where !tokens[Int(id)].isEmpty {
            throw TokenizerError.invalid("id \(id) is both an ordinary token and a special token")
        }
        self.tokens = tokens
        specialIDs = ids
        specialByID = Dictionary(uniqueKeysWithValues: ids.map { ($1, $0) })
        let maxOrdinary = tokens.lastIndex(where: { !$0.isEmpty }) ?? 255
        special = SpecialTokens(vocabularySize: size, eos: Int(ids["<|endoftext|>"]!), mask: Int(ids["[MASK]"]!), pad: Int(ids["[PAD]"]!),
                                sentinels: (0 ..< 100).map { Int(ids["<extra_id_\($0)>"]!) }, randomTokenBound: maxOrdinary + 1)

        // (left, right, rank, merged id) of every pair that merges.
        var table: [(Int32, Int32, UInt32, Int32)] = []
        switch rule {
        case .merges:
            for (rank, (a, b)) in merges.enumerated() {
                guard let merged = pieces.id(of: tokens[Int(a)] + tokens[Int(b)]) else {
                    throw TokenizerError.invalid("merge \(rank) joins ids \(a) and \(b) into a token that is not in the vocabulary")
                }
                table.append((a, b, UInt32(rank), merged))
            }
        case .ranks:
            // tiktoken: every split of a token into two tokens is a pair ranked by the token's id.
            for (id, bytes) in tokens.enumerated() where bytes.count > 1 {
                for k in 1 ..< bytes.count {
                    if let a = pieces.id(of: Array(bytes[..<k])), let b = pieces.id(of: Array(bytes[k...])) { table.append((a, b, UInt32(id), Int32(id))) }
                }
            }
        }
        pairs = PairTable(capacity: table.count)
        for (a, b, rank, id) in table { pairs.insert(a, b, rank: rank, id: id) }
        self.byteIDs = .allocate(capacity: 256)
        self.byteIDs.initialize(from: byteIDs, count: 256)

        var h = FNV1a64()
        h.update("bpe-v1 \(rule.rawValue) \(size)\n" + (pattern == .gpt2 ? "" : "pattern \(pattern.rawValue)\n"))
        for (id, bytes) in tokens.enumerated() where !bytes.isEmpty {
            h.update("\(id) "); bytes.withUnsafeBytes { h.update($0) }; h.update("\n")
        }
        for (a, b) in self.merges { h.update("\(a) \(b)\n") }
        for (name, id) in ids.sorted(by: { $0.value < $1.value }) { h.update("\(id) \(name)\n") }
        hash = h.hex
    }

    deinit {
        pairs.deallocate()
        byteIDs.deallocate()
    }

    // MARK: Encoding

    /// Encodes a document: special-token text in it is ordinary text (as tiktoken's `encode_ordinary`),
    /// so a corpus that mentions `[MASK]` does not inject mask ids. The data pipeline uses this.
    public func encode(_ text: String) -> [Int32] { encode(text, allowingSpecialTokens: false) }

    /// Encodes text; with `allowingSpecialTokens`, `<|endoftext|>`, `[MASK]`, `[PAD]` and `<extra_id_N>`
    /// in the text become their ids (as Hugging Face `tokenizers` and tiktoken's `allowed_special="all"`).
    public func encode(_ text: String, allowingSpecialTokens: Bool) -> [Int32] {
        var text = text
        return text.withUTF8 { encode(bytes: $0, allowingSpecialTokens: allowingSpecialTokens) }
    }

    /// Encodes a big text on every core: it is cut where an ASCII non-space character meets a space (U+0020),
    /// where a pre-token ends in both patterns, so the result equals ``encode(_:allowingSpecialTokens:)``.
    public func encodeParallel(_ text: String, allowingSpecialTokens: Bool = false, chunkBytes: Int = 1 << 20) -> [Int32] {
        var text = text
        return text.withUTF8 { buf -> [Int32] in
            var cuts = [0]
            while let last = cuts.last, last + chunkBytes < buf.count {
                var i = last + chunkBytes
                while i < buf.count, !(buf[i] == 0x20 && buf[i - 1] < 0x80 && !isASCIISpace(buf[i - 1])) { i += 1 }
                cuts.append(i)
            }
            if cuts.last! < buf.count { cuts.append(buf.count) }
            if cuts.count <= 2 { return encode(bytes: buf, allowingSpecialTokens: allowingSpecialTokens) }
            var parts = [[Int32]](repeating: [], count: cuts.count - 1)
            parts.withUnsafeMutableBufferPointer { slots in
                let slots = UncheckedSendable(slots), buf = UncheckedSendable(buf)
                DispatchQueue.concurrentPerform(iterations: cuts.count - 1) { k in
                    let chunk = UnsafeBufferPointer(rebasing: buf.value[cuts[k] ..< cuts[k + 1]])
                    slots.value[k] = self.encode(bytes: chunk, allowingSpecialTokens: allowingSpecialTokens)
                }
            }
            return Array(parts.joined())
        }
    }

    func encode(bytes buf: UnsafeBufferPointer<UInt8>, allowingSpecialTokens: Bool) -> [Int32] {
        guard let base = buf.baseAddress, buf.count > 0 else { return [] }
        let scratch = scratchPool.take()
        defer { scratchPool.give(scratch) }
        var out: [Int32] = []
        out.reserveCapacity(buf.count / 3 + 16)
        var start = 0
        if allowingSpecialTokens {
            var i = 0
            while i < buf.count {
                let b = base[i]
                if b == 0x3C || b == 0x5B, let (length, id) = specialToken(at: i, base, buf.count) {
                    encodeOrdinary(base + start, i - start, &out, scratch)
                    out.append(id)
                    i += length; start = i
                } else { i += 1 }
            }
        }
        encodeOrdinary(base + start, buf.count - start, &out, scratch)
        return out
    }

    /// The special token spelled at `i`, if any: its length in bytes and id.
    private func specialToken(at i: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> (Int, Int32)? {
        func matches(_ s: StaticString) -> Bool {
            let m = s.utf8CodeUnitCount
            return i + m <= n && memcmp(p + i, s.utf8Start, m) == 0
        }
        if p[i] == 0x5B {
            if matches("[MASK]") { return (6, specialIDs["[MASK]"]!) }
            if matches("[PAD]") { return (5, specialIDs["[PAD]"]!) }
            return nil
        }
        if matches("<|endoftext|>") { return (13, specialIDs["<|endoftext|>"]!) }
        guard matches("<extra_id_") else { return nil }
        var j = i + 10, value = 0
        while j < n, j < i + 12, p[j] >= 0x30, p[j] <= 0x39 { value = value * 10 + Int(p[j] - 0x30); j += 1 }
        guard j > i + 10, j < n, p[j] == 0x3E, !(j == i + 12 && p[i + 10] == 0x30) else { return nil }
        return (j + 1 - i, specialIDs["<extra_id_\(value)>"]!)
    }

    /// Pre-tokenizes and merges `n` bytes without special tokens.
    private func encodeOrdinary(_ p: UnsafePointer<UInt8>, _ n: Int, _ out: inout [Int32], _ scratch: Scratch) {
        pattern.split(p, n) { s, e in
            let len = e - s
            if len == 1 { out.append(byteIDs[Int(p[s])]); return }
            if let cached = scratch.cache.lookup(p + s, len) { out.append(contentsOf: cached); return }
            let first = out.count
            if rule == .ranks, let id = pieces.id(of: p + s, len) {
                out.append(id)
            } else {
                merge(p + s, len, &out, scratch)
            }
            if len <= PieceCache.maxKey { scratch.cache.insert(p + s, len, out[first...]) }
        }
    }

    /// Merges one pre-token's bytes, lowest rank first, leftmost among equal ranks.
    func merge(_ p: UnsafePointer<UInt8>, _ n: Int, _ out: inout [Int32], _ scratch: Scratch) {
        if n > 64 { return mergeLong(p, n, &out, scratch) }
        scratch.parts.removeAll(keepingCapacity: true)
        scratch.ranks.removeAll(keepingCapacity: true)
        for i in 0 ..< n { scratch.parts.append(byteIDs[Int(p[i])]) }
        for i in 0 ..< n - 1 { scratch.ranks.append(pairs.rank(scratch.parts[i], scratch.parts[i + 1])) }
        scratch.parts.withUnsafeMutableBufferPointer { parts in
            scratch.ranks.withUnsafeMutableBufferPointer { ranks in
                var count = n
                while count > 1 {
                    var best = UInt32.max, at = -1
                    for i in 0 ..< count - 1 where ranks[i] < best { best = ranks[i]; at = i }
                    if at < 0 { break }
                    parts[at] = pairs.merged(parts[at], parts[at + 1])
                    for i in stride(from: at + 1, to: count - 1, by: 1) { parts[i] = parts[i + 1] }
                    for i in stride(from: at + 1, to: count - 2, by: 1) { ranks[i] = ranks[i + 1] }
                    count -= 1
                    if at < count - 1 { ranks[at] = pairs.rank(parts[at], parts[at + 1]) }
                    if at > 0 { ranks[at - 1] = pairs.rank(parts[at - 1], parts[at]) }
                }
                out.append(contentsOf: parts[..<count])
            }
        }
    }

    /// The same merge for long pre-tokens in O(n log n): a heap of (rank, position) over a linked list.
    private func mergeLong(_ p: UnsafePointer<UInt8>, _ n: Int, _ out: inout [Int32], _ scratch: Scratch) {
        var parts = (0 ..< n).map { byteIDs[Int(p[$0])] }
        var next = Array(1 ... n), prev = Array(-1 ..< n - 1)  // next[n-1] == n: the end
        var heap = MinHeap<UInt64>()
        func push(_ i: Int) {
            guard next[i] < n else { return }
            let r = pairs.rank(parts[i], parts[next[i]])
            if r != .max { heap.push(UInt64(r) << 32 | UInt64(i)) }
        }
        for i in 0 ..< n - 1 { push(i) }
        while let top = heap.pop() {
            let i = Int(top & 0xFFFF_FFFF), r = UInt32(top >> 32)
            guard parts[i] >= 0, next[i] < n, pairs.rank(parts[i], parts[next[i]]) == r else { continue }  // stale
            let j = next[i]
            parts[i] = pairs.merged(parts[i], parts[j])
            parts[j] = -1
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0 { push(prev[i]) }
            push(i)
        }
        var i = 0
        while i < n { out.append(parts[i]); i = next[i] }
    }

    // MARK: Decoding

    /// The bytes of `ids`; special ids as their names, unused ids as `<id>`.
    public func decodeBytes(_ ids: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids {
            if id >= 0, Int(id) < tokens.count, !tokens[Int(id)].isEmpty {
                out.append(contentsOf: tokens[Int(id)])
            } else {
                out.append(contentsOf: (specialByID[id] ?? "<\(id)>").utf8)
            }
        }
        return out
    }

    /// Text of `ids` (invalid UTF-8 from a partial sequence becomes U+FFFD).
    public func decode(_ ids: [Int32]) -> String { String(decoding: decodeBytes(ids), as: UTF8.self) }
}

public enum TokenizerError: Error, CustomStringConvertible {
    /// A bad tokenizer file, with the 1-based line.
    case file(path: String, line: Int, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .file(path, line, reason): return "\(path):\(line): \(reason)"
        case let .invalid(reason): return "invalid tokenizer: \(reason)"
        }
    }
}

func roundUp(_ n: Int, _ multiple: Int) -> Int { (n + multiple - 1) / multiple * multiple }
@inline(__always) func isASCIISpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

// MARK: - Pre-tokenization

/// The pre-tokenization patterns, as scanners over valid UTF-8 that call `body(start, end)` for each
/// pre-token's byte range.
public enum PreTokenizer: String, Sendable {
    /// GPT-2's (and r50k/p50k's): `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// cl100k_base's (tiktoken 0.14): `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|
    /// ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s`.
    case cl100k

    @inline(__always)
    func split(_ p: UnsafePointer<UInt8>, _ n: Int, _ body: (Int, Int) -> Void) {
        switch self {
        case .gpt2: preTokenize(p, n, body)
        case .cl100k: preTokenizeCL100K(p, n, body)
        }
    }
}

/// Reads scalars and their pattern classes from valid UTF-8.
struct ScalarScanner {
    let p: UnsafePointer<UInt8>, n: Int
    let classes = scalarClasses

    @inline(__always) func scalar(_ i: Int) -> (UInt32, Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 { return ((b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F), 3) }
        return ((b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F), 4)
    }
    @inline(__always) func classOf(_ c: UInt32) -> CharClass {
        c < 0x10000 ? CharClass(rawValue: classes[Int(c)])! : CharClass(c)
    }
    /// The class of the scalar at `j` (nil at the end).
    @inline(__always) func classAt(_ j: Int) -> CharClass? { j < n ? classOf(scalar(j).0) : nil }
    /// End of the run of class `k` starting at `j`, at most `limit` scalars.
    @inline(__always) func run(_ j: Int, _ k: CharClass, limit: Int = .max) -> Int {
        var j = j, count = 0
        while j < n, count < limit {
            let (c, len) = scalar(j)
            if classOf(c) != k { break }
            j += len; count += 1
        }
        return j
    }
    /// The whitespace run at `i`: its end and the start of its last scalar.
    @inline(__always) func spaces(_ i: Int) -> (end: Int, last: Int) {
        var j = i, last = i
        while j < n {
            let (c, len) = scalar(j)
            if classOf(c) != .space { break }
            last = j; j += len
        }
        return (j, last)
    }
}

/// GPT-2's pre-tokenization (``PreTokenizer/gpt2``). A run of whitespace followed by a non-space gives
/// up its last character, which joins the next pre-token if it is a space (` ?…`) and stands alone
/// otherwise.
@inline(__always)
func preTokenize(_ p: UnsafePointer<UInt8>, _ n: Int, _ body: (Int, Int) -> Void) {
    let s = ScalarScanner(p: p, n: n)
    var i = 0
    while i < n {
        let (c, len) = s.scalar(i)
        let k = s.classOf(c)
        var j = i + len
        if c == 0x27, j < n, let m = contraction(p, j, n, anyCase: false) {
            j += m
        } else if k != .space {
            j = s.run(j, k)
        } else if c == 0x20, let k2 = s.classAt(j), k2 != .space {
            j = s.run(j, k2)
        } else {
            let (end, last) = s.spaces(i)
            j = end < n && last > i ? last : end  // \s+(?!\S), else \s+
        }
        body(i, j)
        i = j
    }
}

/// cl100k_base's pre-tokenization (``PreTokenizer/cl100k``): letters take one leading non-letter,
/// non-digit character other than CR/LF (a space, a tab, a bracket); digits go in threes; punctuation
/// keeps the newlines after it; a whitespace run ends at its last newline unless it ends the text.
@inline(__always)
func preTokenizeCL100K(_ p: UnsafePointer<UInt8>, _ n: Int, _ body: (Int, Int) -> Void) {
    let s = ScalarScanner(p: p, n: n)
    @inline(__always) func newlines(_ j: Int) -> Int {
        var j = j
        while j < n, p[j] == 0x0A || p[j] == 0x0D { j += 1 }
        return j
    }
    var i = 0
    while i < n {
        let (c, len) = s.scalar(i)
        let k = s.classOf(c)
        var j = i + len
        if c == 0x27, j < n, let m = contraction(p, j, n, anyCase: true) {
            j += m
        } else if k == .letter {
            j = s.run(j, .letter)
        } else if k != .number, c != 0x0A, c != 0x0D, s.classAt(j) == .letter {
            j = s.run(j, .letter)
        } else if k == .number {
            j = s.run(i, .number, limit: 3)
        } else if k == .other {
            j = newlines(s.run(j, .other))
        } else if c == 0x20, s.classAt(j) == .other {
            j = newlines(s.run(j, .other))
        } else {
            let (end, last) = s.spaces(i)
            var newline = -1  // end of the run's last CR or LF
            var q = i
            while q < end { if p[q] == 0x0A || p[q] == 0x0D { newline = q + 1 }; q += s.scalar(q).1 }
            if end == n { j = end }  // \s++$
            else if newline > 0 { j = newline }  // \s*[\r\n]
            else if last > i { j = last }  // \s+(?!\S)
            else { j = end }  // \s
        }
        body(i, j)
        i = j
    }
}

/// Length after the apostrophe of `'s 't 're 've 'm 'll 'd` at `j` (in any case with `anyCase`), or nil.
@inline(__always)
private func contraction(_ p: UnsafePointer<UInt8>, _ j: Int, _ n: Int, anyCase: Bool) -> Int? {
    let fold: UInt8 = anyCase ? 0x20 : 0
    switch p[j] | fold {
    case 0x73, 0x74, 0x6D, 0x64: return 1  // s t m d
    case 0x72, 0x76: return j + 1 < n && p[j + 1] | fold == 0x65 ? 2 : nil  // re ve
    case 0x6C: return j + 1 < n && p[j + 1] | fold == 0x6C ? 2 : nil  // ll
    default: return nil
    }
}

/// The pattern's character classes: \p{L}, \p{N}, \s (Unicode White_Space), everything else.
enum CharClass: UInt8 {
    case letter, number, space, other

    init(_ value: UInt32) {
        guard let s = Unicode.Scalar(value) else { self = .other; return }
        let p = s.properties
        if p.isWhitespace { self = .space; return }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: self = .letter
        case .decimalNumber, .letterNumber, .otherNumber: self = .number
        default: self = .other
        }
    }
}

/// Class of every BMP scalar, computed once (65536 bytes; astral scalars are classified on the fly).
let scalarClasses: UnsafeMutablePointer<UInt8> = {
    let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 0x10000)
    for v in 0 ..< 0x10000 { table[v] = CharClass(UInt32(v)).rawValue }
    return table
}()

// MARK: - Tables

/// (left id, right id) → (rank, merged id), open addressing on 64-bit keys. Its owner deallocates it.
struct PairTable: @unchecked Sendable {
    private let keys: UnsafeMutablePointer<UInt64>
    private let values: UnsafeMutablePointer<UInt64>  // rank << 32 | merged id
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        mask = size - 1
        keys = .allocate(capacity: size); keys.initialize(repeating: Self.empty, count: size)
        values = .allocate(capacity: size); values.initialize(repeating: 0, count: size)
    }
    func deallocate() { keys.deallocate(); values.deallocate() }

    @inline(__always) private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask }

    /// A later insert of the same pair replaces the earlier (as Hugging Face's merge map).
    func insert(_ a: Int32, _ b: Int32, rank: UInt32, id: Int32) {
        let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
        var i = slot(key)
        while keys[i] != Self.empty && keys[i] != key { i = (i + 1) & mask }
        keys[i] = key
        values[i] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: id))
    }

    @inline(__always) private func find(_ a: Int32, _ b: Int32) -> UInt64 {
        let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
        var i = slot(key)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == Self.empty { return UInt64.max }
            i = (i + 1) & mask
        }
    }
    /// The pair's rank, or UInt32.max if it does not merge.
    @inline(__always) func rank(_ a: Int32, _ b: Int32) -> UInt32 { UInt32(find(a, b) >> 32) }
    @inline(__always) func merged(_ a: Int32, _ b: Int32) -> Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: find(a, b))) }
}

/// Ordinary tokens by their bytes.
final class PieceTable: @unchecked Sendable {
    private let index = ByteStringIndex()
    private var ids: [Int32] = []
    /// Ids whose bytes repeat an earlier token's, as (earlier id, id).
    private(set) var duplicates: [(Int32, Int32)] = []

    init(_ tokens: [[UInt8]]) {
        for (id, t) in tokens.enumerated() where !t.isEmpty {
            t.withUnsafeBufferPointer { b in
                if let e = index.find(b.baseAddress!, b.count) { duplicates.append((ids[e], Int32(id))) } else {
                    _ = index.insert(b.baseAddress!, b.count); ids.append(Int32(id))
                }
            }
        }
    }

    func id(of p: UnsafePointer<UInt8>, _ n: Int) -> Int32? { index.find(p, n).map { ids[$0] } }
    func id(of piece: [UInt8]) -> Int32? {
        guard !piece.isEmpty else { return nil }
        return piece.withUnsafeBufferPointer { id(of: $0.baseAddress!, $0.count) }
    }
}

/// Byte strings → dense entry numbers 0, 1, 2, … in insertion order: open addressing over one arena of
/// key bytes, growing as needed. The piece cache, the token table and the trainer's word counts use it.
final class ByteStringIndex {
    private var slots: [Int32]  // entry number, -1 empty
    private var hashes: [UInt64] = [], starts: [Int] = [0], keys: [UInt8] = []
    var count: Int { hashes.count }

    init(capacity: Int = 1 << 10) { slots = [Int32](repeating: -1, count: capacity) }

    func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? { probe(p, n, hashBytes(p, n)).entry }

    /// Adds a key that is not present; returns its entry number.
    func insert(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        if (hashes.count + 1) * 2 > slots.count { grow() }
        let h = hashBytes(p, n)
        let slot = probe(p, n, h).slot
        slots[slot] = Int32(hashes.count)
        hashes.append(h)
        keys.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        starts.append(keys.count)
        return hashes.count - 1
    }

    /// The bytes of entry `e`.
    func key(_ e: Int) -> ArraySlice<UInt8> { keys[starts[e] ..< starts[e + 1]] }

    func removeAll() {
        for i in slots.indices { slots[i] = -1 }
        hashes.removeAll(keepingCapacity: true); keys.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true); starts.append(0)
    }

    private func probe(_ p: UnsafePointer<UInt8>, _ n: Int, _ h: UInt64) -> (entry: Int?, slot: Int) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        return keys.withUnsafeBufferPointer { all in
            while true {
                let e = Int(slots[i])
                if e < 0 { return (nil, i) }
                if hashes[e] == h, starts[e + 1] - starts[e] == n, n == 0 || memcmp(all.baseAddress! + starts[e], p, n) == 0 { return (e, i) }
                i = (i + 1) & mask
            }
        }
    }

    private func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (e, h) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: h) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(e)
        }
    }
}

@inline(__always)
func hashBytes(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
    var i = 0
    while i + 8 <= n {
        h = (h ^ UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        i += 8
    }
    var tail: UInt64 = 0, shift: UInt64 = 0
    while i < n { tail |= UInt64(p[i]) << shift; shift += 8; i += 1 }
    h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
    return h ^ (h >> 29)
}

/// Pre-token → ids of the pre-tokens met so far, for one thread at a time; cleared when full.
final class PieceCache {
    static let maxKey = 48
    private let index = ByteStringIndex(capacity: 1 << 17)
    private var starts: [Int] = [0], ids: [Int32] = []

    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> ArraySlice<Int32>? {
        index.find(p, n).map { ids[starts[$0] ..< starts[$0 + 1]] }
    }

    func insert(_ p: UnsafePointer<UInt8>, _ n: Int, _ value: ArraySlice<Int32>) {
        if index.count >= 1 << 16 { index.removeAll(); ids.removeAll(keepingCapacity: true); starts = [0] }
        _ = index.insert(p, n)
        ids.append(contentsOf: value); starts.append(ids.count)
    }
}

/// One thread's working memory: the cache and the merge buffers.
final class Scratch {
    let cache = PieceCache()
    var parts: [Int32] = [], ranks: [UInt32] = []
}

/// Scratch objects lent to threads: a thread takes one per call and gives it back.
final class ScratchPool: @unchecked Sendable {
    private var free: [Scratch] = []
    private let lock = NSLock()
    func take() -> Scratch { lock.withLock { free.popLast() } ?? Scratch() }
    func give(_ s: Scratch) { lock.withLock { free.append(s) } }
}

/// A binary min-heap.
struct MinHeap<Element: Comparable> {
    private var items: [Element] = []
    var isEmpty: Bool { items.isEmpty }
    mutating func push(_ x: Element) {
        items.append(x)
        var i = items.count - 1
        while i > 0, items[(i - 1) / 2] > items[i] { items.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
    }
    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, items[l] < items[m] { m = l }
                if r < items.count, items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m); i = m
            }
        }
        return top
    }
}
