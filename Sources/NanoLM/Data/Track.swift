import Foundation
#if canImport(Glibc)
import Glibc
#endif

// A track is a data recipe: domains, where each domain's text lives, the share of the training tokens
// each domain gets, and the budget. Track files are JSON (YAML would need Yams, not a dependency yet):
//
//     {
//       "name": "my-track",
//       "tokens": 100000000,               training tokens to sample
//       "validationTokens": 500000,        held out from training (whole documents), optional
//       "validationDocumentTokens": 512,   validate on windows of at most this many tokens, one per
//                                          document training never reads, optional
//       "validationSplitTokens": 400000,   the size of that split, optional
//       "seed": 1234,                      optional
//       "domains": [
//         { "name": "web", "proportion": 0.2081,
//           "sources": [ { "paths": ["/data/rw/*.jsonl.gz"], "format": "jsonl", "field": "text" } ] },
//         { "name": "code", "proportion": 0.1018,
//           "sources": [ { "paths": ["src/"], "extensions": [".py"], "exclude": ["*/test/*"] } ] }
//       ]
//     }
//
// Relative paths are resolved against the track file's folder. Proportions are normalized to sum to 1.

/// Where one part of a domain's text comes from.
public struct TrackSource: Codable, Equatable, Sendable {
    public enum Format: String, Codable, Sendable {
        /// Plain UTF-8 text.
        case text
        /// HTML: scripts and styles dropped, tags removed, entities decoded.
        case html
        /// One JSON object per line with the document in `field` (C4, RedPajama, RefinedWeb exports).
        case jsonl
    }

    public enum Split: String, Codable, Sendable {
        /// The whole file is one document.
        case file
        /// Blank lines separate documents (merged up to `minDocumentBytes`).
        case paragraphs
    }

    /// Files, directories (searched recursively) and glob patterns (`*`, `?`, `[…]`).
    public var paths: [String]?
    /// A program and its arguments whose standard output is the text (e.g. `bible` for the KJV).
    public var command: [String]?
    public var format: Format?
    /// JSONL: the field holding the text ("text" if absent).
    public var field: String?
    public var split: Split?
    /// Consecutive documents shorter than this are merged (paragraph splits of dictionaries, verses).
    public var minDocumentBytes: Int?
    /// In directories: only files whose names end with one of these (".py", ".html", ".txt.gz").
    public var extensions: [String]?
    /// Glob patterns (matched against the whole path) to leave out.
    public var exclude: [String]?

    public init(paths: [String]? = nil, command: [String]? = nil, format: Format? = nil, field: String? = nil,
                split: Split? = nil, minDocumentBytes: Int? = nil, extensions: [String]? = nil, exclude: [String]? = nil) {
        self.paths = paths
        self.command = command
        self.format = format
        self.field = field
        self.split = split
        self.minDocumentBytes = minDocumentBytes
        self.extensions = extensions
        self.exclude = exclude
    }

    /// A short description for reports.
    public var summary: String {
        if let command { return "$ " + command.joined(separator: " ") }
        return (paths ?? []).joined(separator: " ")
    }
}

public struct TrackDomain: Codable, Equatable, Sendable {
    public var name: String
    /// Share of the training tokens (normalized over the track).
    public var proportion: Double
    public var sources: [TrackSource]
    /// What the domain stands in for (e.g. the nanoLM domain it replaces), for reports.
    public var note: String?

    public init(name: String, proportion: Double, sources: [TrackSource], note: String? = nil) {
        self.name = name
        self.proportion = proportion
        self.sources = sources
        self.note = note
    }
}

public struct Track: Codable, Equatable, Sendable {
    public var name: String
    /// Training tokens to sample (EOS included).
    public var tokens: Int
    /// Tokens held out from training, in whole documents drawn from every domain by its proportion; default
    /// 0.5% of `tokens`, at least 100k. Without `validationDocumentTokens` they are the validation split.
    public var validationTokens: Int?
    /// With it, the validation split is instead a seeded window of at most this many tokens from each of a
    /// seeded random subset of the documents training never reads — the held-out ones and those the
    /// sampling left unread — each domain to its share of `validationSplitTokens`. The same tokens then
    /// come from many more documents, so the loss depends less on which documents were drawn (docs/DESIGN.md,
    /// "The validation set"), and the training split is the same as without it. A domain whose unread
    /// documents could not fill its share at this size takes more tokens from each; one that trains on
    /// every document it has but the held-out ones gives what those hold. nil: the held-out documents, whole.
    public var validationDocumentTokens: Int?
    /// The validation split's size with `validationDocumentTokens` (default `heldOutTokens`).
    public var validationSplitTokens: Int?
    public var seed: UInt64?
    public var domains: [TrackDomain]
    /// Debian packages that ship the sources (the nano track), for error messages.
    public var packages: [String]?

    public init(name: String, tokens: Int, validationTokens: Int? = nil, validationDocumentTokens: Int? = nil,
                validationSplitTokens: Int? = nil, seed: UInt64? = nil, domains: [TrackDomain], packages: [String]? = nil) {
        self.name = name
        self.tokens = tokens
        self.validationTokens = validationTokens
        self.validationDocumentTokens = validationDocumentTokens
        self.validationSplitTokens = validationSplitTokens
        self.seed = seed
        self.domains = domains
        self.packages = packages
    }

    public var heldOutTokens: Int { validationTokens ?? max(tokens / 200, 100_000) }
    /// The validation split's size: `validationSplitTokens` for windows of unread documents, else the held-out tokens.
    public var splitTokens: Int { validationDocumentTokens == nil ? heldOutTokens : validationSplitTokens ?? heldOutTokens }

    /// Proportions summing to 1, in domain order.
    public var normalizedProportions: [Double] {
        let total = domains.reduce(0) { $0 + $1.proportion }
        return domains.map { $0.proportion / total }
    }

    /// Reads a track file; errors name the file and the field.
    public static func load(_ url: URL) throws -> Track {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrackError.invalid(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        var track: Track
        do { track = try JSONDecoder().decode(Track.self, from: data) } catch let error as DecodingError {
            throw TrackError.invalid(file: url.path, reason: describe(error))
        }
        try track.validate(file: url.path)
        // Relative paths are relative to the track file.
        let base = url.deletingLastPathComponent()
        for d in track.domains.indices {
            for s in track.domains[d].sources.indices {
                track.domains[d].sources[s].paths = track.domains[d].sources[s].paths?.map {
                    $0.hasPrefix("/") ? $0 : base.appendingPathComponent($0).path
                }
            }
        }
        return track
    }

    public func validate(file: String = "track") throws {
        func fail(_ reason: String) -> TrackError { .invalid(file: file, reason: reason) }
        guard tokens > 0 else { throw fail("field tokens must be positive (got \(tokens))") }
        if let validationTokens, validationTokens < 0 { throw fail("field validationTokens must be ≥ 0 (got \(validationTokens))") }
        if let n = validationDocumentTokens, n < 1 {
            throw fail("field validationDocumentTokens must be positive (got \(n)); leave it out to hold out whole documents")
        }
        if let n = validationSplitTokens {
            guard n > 0 else { throw fail("field validationSplitTokens must be positive (got \(n))") }
            guard validationDocumentTokens != nil else {
                throw fail("field validationSplitTokens sizes a split of document windows: set validationDocumentTokens too, or leave it out (the held-out documents are the split)")
            }
        }
        guard !domains.isEmpty else { throw fail("field domains is empty: name at least one domain") }
        var seen = Set<String>()
        for (i, d) in domains.enumerated() {
            guard !d.name.isEmpty else { throw fail("field domains[\(i)].name is empty") }
            guard seen.insert(d.name).inserted else { throw fail("field domains[\(i)].name: \"\(d.name)\" appears twice") }
            guard d.proportion > 0, d.proportion.isFinite else {
                throw fail("field domains[\(i)].proportion (\(d.name)) must be positive (got \(d.proportion))")
            }
            for (j, s) in d.sources.enumerated() {
                let hasPaths = !(s.paths ?? []).isEmpty, hasCommand = !(s.command ?? []).isEmpty
                guard hasPaths != hasCommand else {
                    throw fail("field domains[\(i)].sources[\(j)] (\(d.name)) needs exactly one of paths or command")
                }
            }
        }
    }

    /// Encodes as pretty JSON (what `nanolm data track NAME` prints).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

public enum TrackError: Error, CustomStringConvertible {
    case invalid(file: String, reason: String)
    case noData(domain: String, reason: String)
    case source(file: String, reason: String)

    public var description: String {
        switch self {
        case let .invalid(file, reason): return "\(file): \(reason)"
        case let .noData(domain, reason): return "domain \(domain): \(reason)"
        case let .source(file, reason): return "\(file): \(reason)"
        }
    }
}

// MARK: - Reading sources

/// Counts what a reader skipped, with the first place it happened.
public struct SkipCounter: Sendable {
    public private(set) var count = 0
    public private(set) var first: String?
    public init() {}
    public mutating func skip(_ location: String, _ reason: String) {
        count += 1
        if first == nil { first = "\(location): \(reason)" }
    }
    public mutating func merge(_ other: SkipCounter) {
        count += other.count
        if first == nil { first = other.first }
    }
}

/// Turns a domain's sources into documents, streaming: one file (or one paragraph group) at a time.
/// A stand-in for the corpus readers of the tokenizer work; swap it by passing another `reader` to
/// ``TrackBuilder``.
public struct SourceReader {
    public init() {}

    /// The files a source names, sorted, so every machine reads them in the same order.
    public func files(of source: TrackSource) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for pattern in source.paths ?? [] {
            var matches: [String]
            if pattern.contains(where: { "*?[".contains($0) }) {
                matches = globPaths(pattern)
                if matches.isEmpty { throw TrackError.source(file: pattern, reason: "the pattern matches no file") }
            } else {
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: pattern, isDirectory: &isDir) else {
                    throw TrackError.source(file: pattern, reason: "no such file or directory")
                }
                matches = [pattern]
            }
            for m in matches {
                var isDir: ObjCBool = false
                _ = fm.fileExists(atPath: m, isDirectory: &isDir)
                if isDir.boolValue {
                    let base = m.hasSuffix("/") ? String(m.dropLast()) : m
                    let walker = fm.enumerator(atPath: base)
                    while let rel = walker?.nextObject() as? String {
                        let path = base + "/" + rel
                        var sub: ObjCBool = false
                        if fm.fileExists(atPath: path, isDirectory: &sub), !sub.boolValue,
                           source.extensions.map({ exts in exts.contains { path.hasSuffix($0) } }) ?? true {
                            out.append(path)
                        }
                    }
                } else {
                    out.append(m)
                }
            }
        }
        let excluded = source.exclude ?? []
        return Array(Set(out)).filter { path in !excluded.contains { fnmatch($0, path, 0) == 0 } }.sorted()
    }

    /// Calls `body` with each document of `source`, in order.
    public func documents(of source: TrackSource, skipped: inout SkipCounter,
                          _ body: (String) throws -> Void) throws {
        let format = source.format ?? .text
        let split = source.split ?? .file
        let minBytes = source.minDocumentBytes ?? 0
        var pending = ""
        func emit(_ text: String) throws {
            if minBytes <= 0 { try body(text); return }
            pending += pending.isEmpty ? text : "\n\n" + text
            if pending.utf8.count >= minBytes { try body(pending); pending = "" }
        }

        let inputs: [(name: String, open: () throws -> ByteLines)]
        if let command = source.command {
            inputs = [(command.joined(separator: " "), { try ByteLines(command: command) })]
        } else {
            inputs = try files(of: source).map { path in (path, { try ByteLines(file: path) }) }
        }
        for (name, open) in inputs {
            let lines = try open()
            defer { lines.close() }
            var lineNumber = 0
            if format == .jsonl {
                let field = source.field ?? "text"
                while let line = try lines.next() {
                    lineNumber += 1
                    if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                    guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                        skipped.skip("\(name):\(lineNumber)", "not a JSON object"); continue
                    }
                    guard let text = object[field] as? String else {
                        skipped.skip("\(name):\(lineNumber)", "no string field \"\(field)\""); continue
                    }
                    if text.isEmpty { skipped.skip("\(name):\(lineNumber)", "empty text"); continue }
                    try emit(text)
                }
            } else if split == .paragraphs {
                var paragraph: [UInt8] = [], start = 1
                func flush() throws {
                    defer { paragraph.removeAll(keepingCapacity: true) }
                    guard !paragraph.isEmpty else { return }
                    guard let text = String(validating: paragraph, as: UTF8.self) else {
                        skipped.skip("\(name):\(start)", "invalid UTF-8"); return
                    }
                    try emit(format == .html ? htmlToText(text) : text)
                }
                while let line = try lines.next() {
                    lineNumber += 1
                    if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { try flush(); continue }
                    if paragraph.isEmpty { start = lineNumber } else { paragraph.append(10) }
                    paragraph += line
                }
                try flush()
            } else {
                let bytes = try lines.readAll()
                guard !bytes.isEmpty else { skipped.skip(name, "empty file"); continue }
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    skipped.skip(name, "invalid UTF-8"); continue
                }
                let doc = format == .html ? htmlToText(text) : text
                if doc.allSatisfy(\.isWhitespace) { skipped.skip(name, "no text"); continue }
                try emit(doc)
            }
            if lines.failed {
                skipped.skip(name, "the decompressor or command failed (\(lines.stderrTail))")
            }
        }
        if !pending.isEmpty { try body(pending) }
    }
}

/// Glob expansion (libc glob), sorted.
func globPaths(_ pattern: String) -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    guard glob(pattern, 0, nil, &g) == 0 else { return [] }
    return (0 ..< Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
}

/// Lines of bytes from a file, a compressed file (.gz/.dz via gzip, .zst via zstd) or a command's output,
/// read in 1 MiB chunks.
final class ByteLines {
    let handle: FileHandle
    let process: Process?
    let errors: URL?
    /// Set for .gz, .dz and .zst files: decompressed in process.
    var decompressor: StreamDecompressor?
    var buffer: [UInt8] = []
    var position = 0
    var eof = false

    convenience init(file path: String) throws {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw TrackError.source(file: path, reason: "cannot open for reading")
        }
        self.init(handle: h, process: nil, errors: nil)
        if path.hasSuffix(".gz") || path.hasSuffix(".dz") {
            decompressor = StreamDecompressor(handle: h, format: .gzip)
        } else if path.hasSuffix(".zst") {
            decompressor = StreamDecompressor(handle: h, format: .zstd)
        }
    }

    convenience init(command: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = command
        // Standard error goes to a file: a pipe nobody reads would block a chatty program.
        let out = Pipe()
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let err = try FileHandle(forWritingTo: errURL)
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw TrackError.source(file: command.joined(separator: " "), reason: "cannot run: \(error.localizedDescription)")
        }
        try? err.close()
        self.init(handle: out.fileHandleForReading, process: p, errors: errURL)
    }

    init(handle: FileHandle, process: Process?, errors: URL?) {
        self.handle = handle
        self.process = process
        self.errors = errors
    }

    func fill() throws -> Bool {
        if eof { return false }
        let chunk = try decompressor?.read() ?? handle.read(upToCount: 1 << 20) ?? Data()
        if chunk.isEmpty { eof = true; return false }
        if position > 0 { buffer.removeFirst(position); position = 0 }
        buffer += chunk
        return true
    }

    /// The next line without its newline, or nil at the end.
    func next() throws -> ArraySlice<UInt8>? {
        while true {
            if let nl = buffer[position...].firstIndex(of: 10) {
                defer { position = nl + 1 }
                return buffer[position ..< nl]
            }
            if try !fill() {
                if position < buffer.count { defer { position = buffer.count }; return buffer[position...] }
                return nil
            }
        }
    }

    func readAll() throws -> [UInt8] {
        while try fill() {}
        defer { position = buffer.count }
        return Array(buffer[position...])
    }

    var failed: Bool {
        if let decompressor { return decompressor.failure != nil }
        guard let process else { return false }
        process.waitUntilExit()
        return process.terminationStatus != 0
    }

    var stderrTail: String {
        if let failure = decompressor?.failure { return failure }
        guard let errors, let data = try? Data(contentsOf: errors) else { return "" }
        return String(decoding: data.suffix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func close() {
        try? handle.close()
        if let process, process.isRunning { process.terminate() }
        if let errors { try? FileManager.default.removeItem(at: errors) }
    }
}

// MARK: - HTML to text

/// Visible text of an HTML page: script/style/head dropped, block elements become line breaks, other
/// tags vanish, entities are decoded, runs of blank lines collapse. Good enough for documentation pages.
public func htmlToText(_ html: String) -> String {
    let bytes = Array(html.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count / 2)
    let blocks: Set<String> = ["p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "pre", "h1", "h2",
                               "h3", "h4", "h5", "h6", "section", "blockquote", "hr", "title", "article", "header", "footer"]
    var i = 0
    let n = bytes.count
    func lower(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b + 32 : b }
    while i < n {
        let b = bytes[i]
        if b == UInt8(ascii: "<") {
            // Comment
            if i + 3 < n && bytes[i + 1] == 33 && bytes[i + 2] == 45 && bytes[i + 3] == 45 {
                var j = i + 4
                while j + 2 < n && !(bytes[j] == 45 && bytes[j + 1] == 45 && bytes[j + 2] == 62) { j += 1 }
                i = j + 3; continue
            }
            var j = i + 1
            let closing = j < n && bytes[j] == 47
            if closing { j += 1 }
            var name: [UInt8] = []
            while j < n, (bytes[j] >= 65 && bytes[j] <= 90) || (bytes[j] >= 97 && bytes[j] <= 122) || (bytes[j] >= 48 && bytes[j] <= 57) {
                name.append(lower(bytes[j])); j += 1
            }
            guard !name.isEmpty || bytes[j < n ? j : n - 1] == 33 || bytes[j < n ? j : n - 1] == 63 else {
                out.append(b); i += 1; continue  // a literal "<"
            }
            while j < n && bytes[j] != 62 { j += 1 }
            i = j + 1
            let tag = String(decoding: name, as: UTF8.self)
            if !closing && (tag == "script" || tag == "style" || tag == "head") {
                // Skip to the matching close tag.
                let close = Array("</\(tag)".utf8)
                var k = i
                while k + close.count <= n {
                    var match = true
                    for (o, c) in close.enumerated() where lower(bytes[k + o]) != c { match = false; break }
                    if match { break }
                    k += 1
                }
                while k < n && bytes[k] != 62 { k += 1 }
                i = k + 1
                continue
            }
            if blocks.contains(tag) { out.append(10) }
            continue
        }
        if b == UInt8(ascii: "&") {
            var j = i + 1
            while j < n && j - i < 10 && bytes[j] != 59 && bytes[j] != 32 && bytes[j] != 60 { j += 1 }
            if j < n && bytes[j] == 59, let decoded = decodeEntity(String(decoding: bytes[(i + 1) ..< j], as: UTF8.self)) {
                out += Array(decoded.utf8); i = j + 1; continue
            }
        }
        out.append(b)
        i += 1
    }
    // Collapse spaces/tabs and keep at most one blank line.
    var text: [UInt8] = []
    text.reserveCapacity(out.count)
    var newlines = 0, space = false
    for b in out {
        if b == 10 || b == 13 { newlines += 1; space = false; continue }
        if b == 32 || b == 9 { space = true; continue }
        if newlines > 0 { if !text.isEmpty { text += newlines > 1 ? [10, 10] : [10] }; newlines = 0; space = false }
        if space { if !text.isEmpty { text.append(32) }; space = false }
        text.append(b)
    }
    return String(decoding: text, as: UTF8.self)
}

func decodeEntity(_ name: String) -> String? {
    switch name {
    case "amp": return "&"
    case "lt": return "<"
    case "gt": return ">"
    case "quot": return "\""
    case "apos": return "'"
    case "nbsp": return " "
    case "para": return "¶"
    case "copy": return "©"
    case "mdash": return "—"
    case "ndash": return "–"
    case "hellip": return "…"
    case "rsquo": return "’"
    case "lsquo": return "‘"
    case "rdquo": return "”"
    case "ldquo": return "“"
    default:
        if name.hasPrefix("#x") || name.hasPrefix("#X"), let v = UInt32(name.dropFirst(2), radix: 16), let s = Unicode.Scalar(v) { return String(s) }
        if name.hasPrefix("#"), let v = UInt32(name.dropFirst()), let s = Unicode.Scalar(v) { return String(s) }
        return nil
    }
}
