import Foundation

/// Builds a shard directory from a track, streaming, in three passes:
///
/// 1. **Encode** each domain's documents (in parallel batches) into a temporary token file, keeping only
///    each document's offset in memory.
/// 2. **Hold out** whole documents from training: a seeded random subset of each domain, about
///    validationTokens × proportion tokens (never more than a tenth of the domain's documents).
/// 3. **Sample** the training split: each domain gets `tokens × proportion` tokens in whole documents
///    from seeded shuffles of its remaining documents; a domain with fewer tokens than its share is
///    repeated (a new shuffle per epoch; the last document is cut to the exact share). Domains are
///    interleaved document by document, always topping up the domain furthest behind its share, so any
///    stretch of the stream has the track's mixture.
/// 4. **Write** the validation split: the held-out documents, whole; or, with `validationDocumentTokens`,
///    a seeded window of at most that many tokens from each of a seeded subset of the documents step 3
///    never read (held out, or left unread by a domain sampled below one epoch), each domain to its share
///    of `validationSplitTokens`. Steps 2 and 3 do not depend on step 4: training is the same either way.
///
/// Memory holds one batch of documents plus one offset per document; tokens go straight to disk.
public final class TrackBuilder {
    public let track: Track
    public let codec: any TokenCodec
    public var reader = SourceReader()
    public var tokensPerShard = 50_000_000
    /// Progress lines ("[data] …"), at most every two seconds per phase.
    public var progress: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(track: Track, codec: any TokenCodec) {
        self.track = track
        self.codec = codec
    }

    struct Encoded {
        var url: URL
        var offsets: [Int] = [0]   // document i spans offsets[i] ..< offsets[i+1], EOS not included
        var skipped = SkipCounter()
        var documents: Int { offsets.count - 1 }
        var tokens: Int { offsets.last! }
    }

    public func build(into directory: URL) throws -> ShardIndex {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        // A previous build's files would be mixed with this one's: clear what we own.
        for name in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
        where name.hasSuffix(".bin") && (name.hasPrefix("train-") || name.hasPrefix("validation-")) || name == ShardIndex.fileName {
            try fm.removeItem(at: directory.appendingPathComponent(name))
        }
        let temp = directory.appendingPathComponent(".build")
        try? fm.removeItem(at: temp)
        try fm.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: temp) }

        let seed = track.seed ?? 0
        let proportions = track.normalizedProportions
        let special = codec.special
        let dtype = TokenDType.fitting(vocabularySize: special.vocabularySize)

        // 1. Encode.
        var encoded: [Encoded] = []
        for (d, domain) in track.domains.enumerated() {
            let e: Encoded
            do { e = try encode(domain, into: temp.appendingPathComponent("domain-\(d).i32")) } catch let TrackError.source(file, reason) {
                throw TrackError.source(file: file, reason: "\(reason) (domain \(domain.name)"
                    + (track.packages.map { "; the \(track.name) track reads Debian packages: apt-get install \($0.joined(separator: " "))" } ?? "") + ")")
            }
            guard e.documents > 0 else {
                throw TrackError.noData(domain: domain.name, reason: "its sources yield no documents"
                    + (e.skipped.count > 0 ? " (\(e.skipped.count) skipped; first: \(e.skipped.first!))" : "")
                    + (track.packages.map { ". Install the packages it reads: apt-get install \($0.joined(separator: " "))" } ?? ""))
            }
            guard e.documents > 1 else {
                throw TrackError.noData(domain: domain.name, reason: "its sources yield a single document, and validation is held out by document: split it (\"split\": \"paragraphs\")")
            }
            encoded.append(e)
        }

        // 2. Hold out: whole documents, a seeded random subset per domain, never trained on.
        var held: [Set<Int>] = []
        var trainDocuments: [[Int]] = []
        var maps: [Data] = []
        for (d, e) in encoded.enumerated() {
            maps.append(try Data(contentsOf: e.url, options: .alwaysMapped))
            let quota = Int((Double(track.heldOutTokens) * proportions[d]).rounded())
            let maxDocuments = max(1, e.documents / 10)
            var random = CounterRandom(seed: seed, 1, d)
            var chosen = Set<Int>(), heldTokens = 0
            for doc in random.permutation(e.documents) where heldTokens < quota && chosen.count < maxDocuments {
                chosen.insert(doc)
                heldTokens += e.offsets[doc + 1] - e.offsets[doc] + 1
            }
            held.append(chosen)
            trainDocuments.append((0 ..< e.documents).filter { !chosen.contains($0) })
        }

        // 3. Training: sample each domain to its share, interleaved.
        let train = ShardWriter(directory: directory, split: "train", dtype: dtype, eos: special.eos, tokensPerShard: tokensPerShard)
        var reports: [ShardIndex.DomainReport] = []
        var streams: [DomainStream] = []
        for (d, e) in encoded.enumerated() {
            let docs = trainDocuments[d]
            let available = docs.reduce(0) { $0 + e.offsets[$1 + 1] - e.offsets[$1] + 1 }
            let target = Int((Double(track.tokens) * proportions[d]).rounded())
            let domain = track.domains[d]
            reports.append(ShardIndex.DomainReport(
                name: domain.name, proportion: proportions[d], targetTokens: target, availableTokens: available,
                availableDocuments: docs.count, epochs: available > 0 ? Double(target) / Double(available) : 0,
                sources: domain.sources.map(\.summary), skipped: e.skipped.count, firstSkipped: e.skipped.first))
            streams.append(DomainStream(documents: docs, target: target, seed: seed, domain: d))
        }
        var lastReport = Date()
        while true {
            // The unfinished domain furthest behind its share.
            var best = -1, bestFraction = Double.infinity
            for (d, s) in streams.enumerated() where s.emitted < s.target {
                let f = Double(s.emitted) / Double(s.target)
                if f < bestFraction { best = d; bestFraction = f }
            }
            if best < 0 { break }
            let e = encoded[best]
            let doc = streams[best].next()
            var tokens = slice(maps[best], e.offsets[doc], e.offsets[doc + 1])
            let room = streams[best].target - streams[best].emitted - 1   // EOS takes one
            if tokens.count > room { tokens = Array(tokens.prefix(max(room, 0))) }
            try train.append(tokens, domain: track.domains[best].name)
            streams[best].emitted += tokens.count + 1
            if Date().timeIntervalSince(lastReport) > 2 {
                lastReport = Date()
                progress("[data] sampling: \(formatCount(train.tokens)) of \(formatCount(track.tokens)) training tokens written")
            }
        }
        let trainSplit = try train.finish()

        // 4. Validation: the held-out documents whole, or windows of the documents training never read.
        let validation = ShardWriter(directory: directory, split: "validation", dtype: dtype, eos: special.eos,
                                     tokensPerShard: tokensPerShard)
        for (d, e) in encoded.enumerated() {
            let quota = Int((Double(track.splitTokens) * proportions[d]).rounded())
            let windows: [(document: Int, start: Int, end: Int)]
            let why: String
            if let cap = track.validationDocumentTokens {
                let unread = Set(streams[d].unreadDocuments).union(held[d])
                windows = validationWindows(of: e, from: unread.sorted(), cap: cap, domain: d, seed: seed, quota: quota)
                why = "training reads all its other documents; hold out more with validationTokens"
            } else {
                windows = held[d].sorted().map { (document: $0, start: e.offsets[$0], end: e.offsets[$0 + 1]) }
                why = "at most a tenth of its documents are held out"
            }
            for w in windows { try validation.append(slice(maps[d], w.start, w.end), domain: track.domains[d].name) }
            let given = windows.reduce(0) { $0 + $1.end - $1.start + 1 }
            if given < quota * 9 / 10 {
                progress("[data] warning: validation: \(track.domains[d].name) gives \(formatCount(given)) of its \(formatCount(quota)) tokens (\(why))")
            }
        }
        let validationSplit = try validation.finish()
        maps.removeAll()

        var tokenizerDirectory: String? = "tokenizer"
        do { try codec.save(to: directory.appendingPathComponent("tokenizer")) } catch {
            tokenizerDirectory = nil
            progress("[data] warning: could not save the tokenizer next to the shards: \(error)")
        }
        let index = ShardIndex(
            format: ShardIndex.currentFormat, track: track.name, seed: seed, dtype: dtype,
            tokenizer: .init(name: codec.name, hash: codec.hash, vocabularySize: special.vocabularySize, directory: tokenizerDirectory),
            special: special, splits: ["train": trainSplit, "validation": validationSplit], domains: reports,
            created: ISO8601DateFormatter().string(from: Date()), validationDocumentTokens: track.validationDocumentTokens)
        try index.write(directory: directory)
        return index
    }

    /// Step 4's windows for one domain: a seeded order of `candidates` (documents training never read), a
    /// seeded window of at most `cap` tokens from each (more where the candidates could not fill `quota` at
    /// `cap`), taken until the domain has `quota` tokens; in document order.
    func validationWindows(of e: Encoded, from candidates: [Int], cap: Int, domain: Int, seed: UInt64,
                           quota: Int) -> [(document: Int, start: Int, end: Int)] {
        guard !candidates.isEmpty else { return [] }
        let perDocument = max(cap, (quota + candidates.count - 1) / candidates.count)
        var order = CounterRandom(seed: seed, 4, domain)
        var windows: [(document: Int, start: Int, end: Int)] = [], taken = 0
        for i in order.permutation(candidates.count) where taken < quota {
            let doc = candidates[i]
            var start = e.offsets[doc], end = e.offsets[doc + 1]
            if end - start > perDocument {   // a seeded window of the document; the rest is not validated
                var window = CounterRandom(seed: seed, 5, domain, doc)
                start += window.next(below: end - start - perDocument + 1)
                end = start + perDocument
            }
            windows.append((doc, start, end))
            taken += end - start + 1
        }
        return windows.sorted { $0.document < $1.document }
    }

    /// Documents to train a tokenizer on: about `bytes` of text, each domain by its proportion (at least
    /// 64 KiB each), every other document, in the track's order.
    public func tokenizerSample(bytes: Int) throws -> [String] {
        var sample: [String] = []
        for (d, domain) in track.domains.enumerated() {
            let quota = max(Int(Double(bytes) * track.normalizedProportions[d]), 64 << 10)
            var taken = 0, seen = 0
            struct Done: Error {}
            do {
                for source in domain.sources {
                    var skipped = SkipCounter()
                    try reader.documents(of: source, skipped: &skipped) { text in
                        seen += 1
                        guard seen % 2 == 1 else { return }
                        let piece = text.utf8.count > quota - taken ? String(text.prefix(quota - taken)) : text
                        sample.append(piece)
                        taken += piece.utf8.count
                        if taken >= quota { throw Done() }
                    }
                }
            } catch is Done {}
            progress("[data] tokenizer sample: \(domain.name) \(formatCount(taken)) bytes")
        }
        return sample
    }

    /// Pass 1 for one domain: documents → tokens on disk, encoded in parallel batches.
    func encode(_ domain: TrackDomain, into url: URL) throws -> Encoded {
        guard FileManager.default.createFile(atPath: url.path, contents: nil), let out = FileHandle(forWritingAtPath: url.path) else {
            throw TrackError.source(file: url.path, reason: "cannot create a temporary file")
        }
        defer { try? out.close() }
        var result = Encoded(url: url)
        var batch: [String] = [], batchBytes = 0, bytesRead = 0
        let started = Date()
        var lastReport = started
        let codec = self.codec
        var html = false
        func flush() throws {
            guard !batch.isEmpty else { return }
            let docs = batch
            let pieces = max(1, min(docs.count, ProcessInfo.processInfo.activeProcessorCount * 4))
            var encoded = [[Int32]](repeating: [], count: docs.count)
            encoded.withUnsafeMutableBufferPointer { slots in
                let slots = UncheckedSendable(slots)
                DispatchQueue.concurrentPerform(iterations: pieces) { p in
                    var i = p
                    while i < docs.count { slots.value[i] = codec.encode(html ? htmlToText(docs[i]) : docs[i]); i += pieces }
                }
            }
            var data = Data()
            for ids in encoded {
                if ids.isEmpty { result.skipped.skip("\(domain.name)", "a document with no text"); continue }
                ids.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
                result.offsets.append(result.offsets.last! + ids.count)
            }
            try out.write(contentsOf: data)
            batch.removeAll(keepingCapacity: true)
            batchBytes = 0
            if Date().timeIntervalSince(lastReport) > 2 {
                lastReport = Date()
                let rate = Double(bytesRead) / max(Date().timeIntervalSince(started), 1e-3) / 1e6
                progress("[data] \(domain.name): \(result.documents) documents, \(formatCount(result.tokens)) tokens, \(String(format: "%.1f", rate)) MB/s")
            }
        }
        for source in domain.sources {
            var skipped = SkipCounter()
            // HTML is converted to text in the parallel encoding step, not while reading.
            var raw = source
            html = source.format == .html && source.split != .paragraphs
            if html { raw.format = .text }
            try reader.documents(of: raw, skipped: &skipped) { text in
                let ids = text.utf8.count
                guard ids > 0 else { return }
                batch.append(text)
                batchBytes += ids
                bytesRead += ids
                if batchBytes >= 4 << 20 || batch.count >= 2048 { try flush() }
            }
            try flush()
            result.skipped.merge(skipped)
        }
        try flush()
        progress("[data] \(domain.name): \(result.documents) documents, \(formatCount(result.tokens)) tokens from \(formatCount(bytesRead)) bytes in \(String(format: "%.1f", Date().timeIntervalSince(started))) s"
                 + (result.skipped.count > 0 ? "; skipped \(result.skipped.count) (first: \(result.skipped.first!))" : ""))
        return result
    }
}

/// One domain's document order for the training split: a new seeded shuffle per epoch.
struct DomainStream {
    let documents: [Int]
    let target: Int
    let seed: UInt64
    let domain: Int
    var emitted = 0
    var epoch = -1
    var order: [Int] = []
    var position = 0

    init(documents: [Int], target: Int, seed: UInt64, domain: Int) {
        self.documents = documents
        self.target = target
        self.seed = seed
        self.domain = domain
    }

    /// Documents `next()` has not returned: those after the position in a first, unfinished epoch.
    var unreadDocuments: [Int] {
        switch epoch {
        case -1: documents
        case 0: order[position...].map { documents[$0] }
        default: []
        }
    }

    mutating func next() -> Int {
        if position >= order.count {
            epoch += 1
            var random = CounterRandom(seed: seed, 2, domain, epoch)
            order = random.permutation(documents.count)
            position = 0
        }
        defer { position += 1 }
        return documents[order[position]]
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

func slice(_ map: Data, _ start: Int, _ end: Int) -> [Int32] {
    var out = [Int32](repeating: 0, count: end - start)
    out.withUnsafeMutableBytes { dst in
        map.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[(start * 4) ..< (end * 4)])) }
    }
    return out  // little-endian on every platform Swift and libtorch run on
}

/// 12345678 → "12.3M".
public func formatCount(_ n: Int) -> String {
    let x = Double(n)
    if x >= 1e9 { return String(format: "%.2fG", x / 1e9) }
    if x >= 1e6 { return String(format: "%.1fM", x / 1e6) }
    if x >= 1e4 { return String(format: "%.1fk", x / 1e3) }
    return "\(n)"
}
