import Foundation

extension Tokenizer {
    /// Trains a byte-level BPE on `documents` to `vocabularySize` ids, the 103 special tokens included
    /// (as Hugging Face's `BpeTrainer` counts them), padded to a multiple of 64.
    ///
    /// Standard BPE over pre-token counts: ids 0–255 are the bytes, then each step merges the most
    /// frequent adjacent pair into a new id. Ties go to the pair whose ids come first in Hugging Face's
    /// order (bytes sorted by their GPT-2 byte-to-unicode character, then merged tokens by age), so the
    /// merges equal `tokenizers`' on the same text. A merge whose bytes already are a token reuses that id.
    /// Pair counts are updated incrementally from an index of the words each pair occurs in.
    public static func train(documents: [String], vocabularySize: Int, progress: ((String) -> Void)? = nil) throws -> Tokenizer {
        let specialCount = specialNames.count
        guard vocabularySize >= 256 + specialCount else {
            throw TokenizerError.invalid("a vocabulary of \(vocabularySize) ids cannot hold the 256 bytes and \(specialCount) special tokens: ask for at least \(256 + specialCount)")
        }
        var trainer = BPETrainer(documents: documents)
        progress?("[tokenizer] \(trainer.words.count) distinct pre-tokens in \(documents.count) documents")
        let target = vocabularySize - specialCount
        while trainer.tokens.count < target, trainer.mergeBest() {
            if trainer.merges.count % 1000 == 0 { progress?("[tokenizer] \(trainer.merges.count) merges") }
        }
        if trainer.tokens.count < target {
            progress?("[tokenizer] the text has no more pairs: \(trainer.tokens.count) tokens instead of \(target)")
        }
        return try Tokenizer(rule: .merges, tokens: trainer.tokens, merges: trainer.merges)
    }
}

/// The state of BPE training: distinct pre-tokens as id sequences with their counts, pair counts, where
/// each pair occurs, and a max-heap of pairs whose stale entries are refreshed when popped.
struct BPETrainer {
    var tokens: [[UInt8]] = (0 ..< 256).map { [UInt8($0)] }
    var merges: [(Int32, Int32)] = []
    private(set) var words: [[Int32]] = []
    private var wordCounts: [Int] = []
    private var pairCounts: [UInt64: Int] = [:]
    private var wordsWithPair: [UInt64: [Int32]] = [:]
    private var heap = MinHeap<Candidate>()
    private var idOfBytes: [[UInt8]: Int32] = [:]
    /// Hugging Face's id order of the bytes: sorted by their byte-to-unicode scalar.
    private let byteOrder: [Int32] = {
        var order = [Int32](repeating: 0, count: 256)
        for (rank, b) in (0 ..< 256).sorted(by: { byteToScalar[$0].value < byteToScalar[$1].value }).enumerated() { order[b] = Int32(rank) }
        return order
    }()

    /// A pair to merge: the highest count first, then the smallest (left, right) in Hugging Face's order.
    struct Candidate: Comparable {
        var count: Int, left: Int32, right: Int32, pair: UInt64
        static func < (a: Self, b: Self) -> Bool {
            a.count != b.count ? a.count > b.count : (a.left, a.right) < (b.left, b.right)
        }
    }

    init(documents: [String]) {
        let index = ByteStringIndex(capacity: 1 << 16)
        var counts: [Int] = []
        for document in documents {
            var text = document
            text.withUTF8 { buf in
                guard let p = buf.baseAddress else { return }
                preTokenize(p, buf.count) { s, e in
                    if let w = index.find(p + s, e - s) { counts[w] += 1 } else { _ = index.insert(p + s, e - s); counts.append(1) }
                }
            }
        }
        for w in 0 ..< index.count where index.key(w).count > 1 {
            words.append(index.key(w).map { Int32($0) })
            wordCounts.append(counts[w])
        }
        for (w, word) in words.enumerated() {
            for i in 0 ..< word.count - 1 { add(key(word[i], word[i + 1]), wordCounts[w], word: w) }
        }
        for (pair, count) in pairCounts { push(pair, count) }
        for (i, t) in tokens.enumerated() { idOfBytes[t] = Int32(i) }
    }

    private func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
    private func order(_ id: Int32) -> Int32 { id < 256 ? byteOrder[Int(id)] : id }

    private mutating func add(_ pair: UInt64, _ delta: Int, word: Int) {
        pairCounts[pair, default: 0] += delta
        if delta > 0, wordsWithPair[pair, default: []].last != Int32(word) { wordsWithPair[pair, default: []].append(Int32(word)) }
    }

    private mutating func push(_ pair: UInt64, _ count: Int) {
        let a = Int32(pair >> 32), b = Int32(truncatingIfNeeded: pair)
        heap.push(Candidate(count: count, left: order(a), right: order(b), pair: pair))
    }

    /// Merges the best pair everywhere; false when no pair occurs any more.
    mutating func mergeBest() -> Bool {
        while let top = heap.pop() {
            let count = pairCounts[top.pair] ?? 0
            if count != top.count {
                if count > 0 { push(top.pair, count) }
                continue
            }
            let a = Int32(top.pair >> 32), b = Int32(truncatingIfNeeded: top.pair)
            let bytes = tokens[Int(a)] + tokens[Int(b)]
            let merged: Int32
            if let existing = idOfBytes[bytes] { merged = existing } else {
                merged = Int32(tokens.count); tokens.append(bytes); idOfBytes[bytes] = merged
            }
            merges.append((a, b))
            var touched: Set<UInt64> = []
            for w in wordsWithPair[top.pair] ?? [] {
                let w = Int(w), n = wordCounts[w]
                var word = words[w]
                words[w] = []  // so `word` is the only reference and changes in place
                var i = 0
                while i < word.count - 1 {
                    guard word[i] == a, word[i + 1] == b else { i += 1; continue }
                    if i > 0 {
                        add(key(word[i - 1], a), -n, word: w)
                        add(key(word[i - 1], merged), n, word: w); touched.insert(key(word[i - 1], merged))
                    }
                    word[i] = merged
                    word.remove(at: i + 1)
                    if i + 1 < word.count {
                        add(key(b, word[i + 1]), -n, word: w)
                        add(key(merged, word[i + 1]), n, word: w); touched.insert(key(merged, word[i + 1]))
                    }
                    i += 1
                }
                words[w] = word
            }
            pairCounts[top.pair] = nil
            wordsWithPair[top.pair] = nil
            for pair in touched { if let c = pairCounts[pair], c > 0 { push(pair, c) } }
            return true
        }
        return false
    }
}
