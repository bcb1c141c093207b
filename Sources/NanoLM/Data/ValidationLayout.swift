import Foundation

/// Where the validation split's tokens come from: each held-out document's extent and its domain. The
/// standard errors of a validation loss use it (``ValidationMeasurement``): the set is a sample of documents
/// drawn domain by domain to fixed shares, so a window's document is its cluster (text is correlated within a
/// document) and the document's domain its stratum (the shares are fixed by the track, not drawn).
public struct ValidationLayout: Equatable, Sendable {
    /// One past each document's EOS, ascending: document i spans [ends[i − 1], ends[i]) (ends[−1] = 0).
    public let documentEnds: [Int]
    /// Each document's domain, an index into the shard index's domains (0 for all when unknown).
    public let documentDomains: [Int]
    /// Whether `documentDomains` are the real domains (the counts added up), not 0 for want of them.
    public let knowsDomains: Bool

    public init(documentEnds: [Int], documentDomains: [Int], knowsDomains: Bool = true) {
        precondition(documentEnds.count == documentDomains.count, "one domain per document")
        self.documentEnds = documentEnds
        self.documentDomains = documentDomains
        self.knowsDomains = knowsDomains
    }

    /// The layout of a shard directory's validation split: its EOS and the index's per-domain document counts.
    public init(validation: some TokenStream, index: ShardIndex) {
        let split = index.splits["validation"]
        self.init(tokens: validation, eos: Int32(index.special.eos),
                  documentsPerDomain: index.domains.map { split?.documentsPerDomain[$0.name] ?? 0 })
    }

    /// The layout of a split's `tokens`: documents end at each `eos`; the last one at the end of the split when
    /// it does not end with EOS. `documentsPerDomain` (in domain order, as `nanolm data build` writes the
    /// validation split one domain after the other) names their domains when it adds up to the documents
    /// found; otherwise every document gets domain 0.
    public init(tokens: some TokenStream, eos: Int32, documentsPerDomain: [Int]) {
        var ends: [Int] = []
        let chunk = 1 << 20
        var start = 0
        while start < tokens.count {
            let n = min(chunk, tokens.count - start)
            for (i, t) in tokens.tokens(from: start, count: n).enumerated() where t == eos { ends.append(start + i + 1) }
            start += n
        }
        if ends.last != tokens.count, tokens.count > 0 { ends.append(tokens.count) }
        let knows = !documentsPerDomain.isEmpty && documentsPerDomain.reduce(0, +) == ends.count
        var domains: [Int] = []
        if knows {
            for (d, n) in documentsPerDomain.enumerated() { domains += Array(repeating: d, count: n) }
        } else {
            domains = Array(repeating: 0, count: ends.count)
        }
        self.init(documentEnds: ends, documentDomains: domains, knowsDomains: knows)
    }

    /// The group of the window whose first token is at `offset`: (domain, document).
    public func group(ofWindowAt offset: Int) -> WindowGroup {
        // The first document whose end lies past `offset`.
        var low = 0, high = documentEnds.count
        while low < high {
            let mid = (low + high) / 2
            if documentEnds[mid] <= offset { low = mid + 1 } else { high = mid }
        }
        let document = min(low, max(documentEnds.count - 1, 0))
        return WindowGroup(stratum: documentDomains.isEmpty ? 0 : documentDomains[document], cluster: document)
    }
}

/// A validation window's place in the set's design: its stratum (the domain, whose share is fixed) and its
/// cluster (the document, the unit drawn at random).
public struct WindowGroup: Hashable, Sendable {
    public var stratum: Int
    public var cluster: Int
    public init(stratum: Int, cluster: Int) {
        self.stratum = stratum
        self.cluster = cluster
    }
}

/// A validation layout found on first use. Opening a batch source — every run, `nanolm data sample` — then
/// scans the validation split for EOS only when something asks for a standard error: a fraction of a second
/// per run on a paper-scale split (10⁸ tokens), for nothing where no evaluation is made.
public final class LazyValidationLayout: @unchecked Sendable {
    private let find: () -> ValidationLayout
    private var found: ValidationLayout?
    private let lock = NSLock()

    public init(_ find: @escaping () -> ValidationLayout) { self.find = find }

    /// Whether the split has been scanned yet.
    public var isFound: Bool { lock.lock(); defer { lock.unlock() }; return found != nil }

    /// The layout: found now, once, on the first call (safe from several threads).
    public var layout: ValidationLayout {
        lock.lock()
        defer { lock.unlock() }
        if let found { return found }
        let layout = find()
        found = layout
        return layout
    }
}

extension ShardedData {
    /// The validation split's layout (one pass over its tokens).
    public func validationLayout() -> ValidationLayout { ValidationLayout(validation: validation, index: index) }
}
