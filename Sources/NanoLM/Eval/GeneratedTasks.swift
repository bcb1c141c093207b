import Foundation
import ModelSpec

/// The built-in tasks, made from held-out text so that a model trained on the track's training split has
/// never seen them, and small enough models move on them.
public enum GeneratedTaskKind: String, CaseIterable, Codable, Sendable {
    /// A passage's context; choices: its true continuation and continuations from other documents.
    case continuation
    /// A passage up to a word that occurred earlier in it (as LAMBADA picks passages); choices: that
    /// word and words picked the same way from other documents of the domain.
    case lastWord = "last-word"
}

public struct GeneratedTaskOptions: Sendable {
    public var kinds = GeneratedTaskKind.allCases
    /// Items per task (per kind and domain); rounded down to a multiple of `choices` so every answer
    /// position occurs equally often.
    public var itemsPerTask = 400
    /// Choices per item (k; chance is 1/k).
    public var choices = 4
    /// Bytes of context before the choice, at most (cut at a space).
    public var contextBytes = 256
    /// A continuation runs to the first space after this many bytes.
    public var continuationBytes = 24
    /// Shortest word for the last-word task.
    public var minimumWordBytes = 3
    /// One task per domain when the data knows its domains; else one per kind over all documents.
    public var perDomain = true
    public var seed: UInt64 = 0

    public init() {}

    /// Checks the options before any allocation sized by them (`--items 2^62` would ask for an array of
    /// 2^62 answer positions).
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw EvalError.model("built-in tasks: \(message)") } }
        try check((2 ... 26).contains(choices), "choices per item must be in 2...26, got \(choices)")
        try check((choices ... Limits.itemsPerTask).contains(itemsPerTask),
                  "items per task must be in \(choices)...\(Limits.itemsPerTask) (at least one per choice), got \(itemsPerTask)")
        try check((1 ... 1 << 20).contains(contextBytes) && (1 ... 1 << 20).contains(continuationBytes) && (1 ... 1024).contains(minimumWordBytes),
                  "contextBytes and continuationBytes must be in 1...\(1 << 20), minimumWordBytes in 1...1024")
    }
}

/// Makes the built-in tasks deterministically: the same documents, options and seed give the same items.
///
/// Everything cuts text at ASCII spaces, which never fall inside a multi-byte UTF-8 character, so every
/// piece is valid text. Distractors come from *other* documents of the same domain (so the domain alone
/// does not give the answer away); the right answer's position is a seeded shuffle of 0, 1, …, k−1
/// repeated, so each position is right exactly n/k times.
public struct TaskGenerator {
    public let options: GeneratedTaskOptions
    public init(options: GeneratedTaskOptions = GeneratedTaskOptions()) { self.options = options }

    /// The tasks, and notes on anything left out (a domain with one document, too little text); an error
    /// when the options are out of bounds (``GeneratedTaskOptions/validate()``).
    public func tasks(from documents: [HeldOutDocument]) throws -> (tasks: [MultipleChoiceTask], notes: [String]) {
        try options.validate()
        var groups: [(name: String?, docs: [[UInt8]])] = []
        let domains = documents.map(\.domain).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        if options.perDomain && domains.count > 1 {
            groups = domains.map { d in (d, documents.filter { $0.domain == d }.map { Array($0.text.utf8) }) }
        } else {
            groups = [(nil, documents.map { Array($0.text.utf8) })]
        }
        var tasks: [MultipleChoiceTask] = [], notes: [String] = []
        for kind in options.kinds {
            for (g, group) in groups.enumerated() {
                let name = kind.rawValue + (group.name.map { "/\($0)" } ?? "")
                guard group.docs.count >= 2 else {
                    notes.append("\(name): left out: \(group.docs.count) held-out document(s); distractors need another document of the domain")
                    continue
                }
                let items = makeItems(kind, docs: group.docs, group: g)
                if items.count < options.itemsPerTask / options.choices * options.choices {
                    notes.append("\(name): \(items.count) items of \(options.itemsPerTask) asked (too little suitable text)")
                }
                if items.isEmpty { continue }
                tasks.append(MultipleChoiceTask(name: name, items: items))
            }
        }
        return (tasks, notes)
    }

    func makeItems(_ kind: GeneratedTaskKind, docs: [[UInt8]], group: Int) -> [MultipleChoiceItem] {
        let k = options.choices
        let n = options.itemsPerTask / k * k
        let kindCode = GeneratedTaskKind.allCases.firstIndex(of: kind)!
        // Balanced answer positions: 0…k−1 repeated n/k times, shuffled.
        var shuffle = CounterRandom(seed: options.seed, kindCode, group, -1)
        let answers = shuffle.permutation(n).map { $0 % k }
        let weights = docs.map(\.count)
        var items: [MultipleChoiceItem] = []
        var attempt = 0
        // Attempts are numbered, so item i always comes from the same random stream whatever came before.
        while items.count < n && attempt < 50 * n + 100 {
            var random = CounterRandom(seed: options.seed, kindCode, group, attempt)
            attempt += 1
            let source = pickWeighted(weights, &random)
            let made: (context: String, answer: String)?
            switch kind {
            case .continuation: made = continuation(in: docs[source], &random)
            case .lastWord: made = lastWord(in: docs[source], seenBefore: true, &random)
            }
            guard let (context, answer) = made else { continue }
            var others: [String] = []
            var tries = 0
            while others.count < k - 1 && tries < 40 * k {
                tries += 1
                var other = pickWeighted(weights, &random)
                if other == source { other = (other + 1 + random.next(below: docs.count - 1)) % docs.count }
                let piece: String?
                switch kind {
                case .continuation: piece = continuation(in: docs[other], &random)?.answer
                // Picked the way the answer is (a word seen earlier in its own passage), so that neither word
                // frequency nor length tells the answer from the others: only this context does.
                case .lastWord: piece = lastWord(in: docs[other], seenBefore: true, &random)?.answer
                }
                if let piece, piece != answer, !others.contains(piece) { others.append(piece) }
            }
            guard others.count == k - 1 else { continue }
            let position = answers[items.count]
            var choices = others
            choices.insert(answer, at: position)
            items.append(MultipleChoiceItem(context: context, choices: choices, answer: position))
        }
        return items
    }

    /// Index i with probability weights[i] / Σ weights.
    func pickWeighted(_ weights: [Int], _ random: inout CounterRandom) -> Int {
        var r = random.next(below: max(weights.reduce(0, +), 1))
        for (i, w) in weights.enumerated() { if r < w { return i }; r -= w }
        return weights.count - 1
    }

    /// A random cut at a space: context = up to `contextBytes` before it (starting after a space),
    /// continuation = the words after it up to the first space past `continuationBytes`.
    func continuation(in doc: [UInt8], _ random: inout CounterRandom) -> (context: String, answer: String)? {
        let minimumContext = 32
        let c = options.continuationBytes
        guard doc.count > minimumContext + 2 * c + 2 else { return nil }
        guard let cut = nextSpace(doc, from: minimumContext + random.next(below: doc.count - minimumContext - 2 * c - 1)) else { return nil }
        guard let end = nextSpace(doc, from: cut + 1 + c), end - cut - 1 <= 2 * c else { return nil }
        let answer = doc[(cut + 1) ..< end]
        guard isText(answer) else { return nil }
        return (contextText(doc, before: cut), String(decoding: answer, as: UTF8.self))
    }

    /// A random word of at least `minimumWordBytes` ASCII letters after a space, ended by a non-letter:
    /// context = the text before it (up to `contextBytes`), answer = the word. With `seenBefore` (the
    /// right answer, as LAMBADA chooses its passages), only a word that already occurs in its context.
    func lastWord(in doc: [UInt8], seenBefore: Bool, _ random: inout CounterRandom) -> (context: String, answer: String)? {
        let minimumContext = 32
        guard doc.count > minimumContext + 16 else { return nil }
        var p = minimumContext + random.next(below: doc.count - minimumContext - 8)
        // The first space followed by a long enough word (seen in the context, when asked).
        while let space = nextSpace(doc, from: p) {
            var end = space + 1
            while end < doc.count && isLetter(doc[end]) { end += 1 }
            if end - space - 1 >= options.minimumWordBytes && end < doc.count {
                let context = contextText(doc, before: space)
                let word = String(decoding: doc[(space + 1) ..< end], as: UTF8.self)
                if !seenBefore || words(context).contains(word) { return (context, word) }
            }
            p = space + 1
            if p - minimumContext > 4096 { return nil }
        }
        return nil
    }

    /// The runs of ASCII letters in `text`.
    func words(_ text: String) -> Set<String> {
        Set(text.utf8.split { !isLetter($0) }.map { String(decoding: $0, as: UTF8.self) })
    }

    func contextText(_ doc: [UInt8], before cut: Int) -> String {
        var start = max(0, cut - options.contextBytes)
        if start > 0, let s = nextSpace(doc, from: start), s < cut { start = s + 1 }
        return String(decoding: doc[start ..< cut], as: UTF8.self)
    }

    func nextSpace(_ doc: [UInt8], from p: Int) -> Int? {
        var i = p
        while i < doc.count { if doc[i] == 0x20 { return i }; i += 1 }
        return nil
    }

    func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }

    /// Not blank, and not only spaces and newlines.
    func isText(_ bytes: ArraySlice<UInt8>) -> Bool { bytes.contains { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 } }
}
