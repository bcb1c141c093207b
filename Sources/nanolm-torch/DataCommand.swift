import ArgumentParser
import LawCommands
import Foundation
import NanoLM
import Torch

/// `nanolm data`: build token shards from a track, and look inside them.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TorchCommand.data.rawValue,
        abstract: TorchCommand.data.abstract,
        discussion: """
            A track names domains, their sources and sampling proportions, and a token budget. Built in: \
            `nano` (text from Debian packages; a fresh machine builds it in minutes) and the paper's \
            nanoLM tracks `nanolm-100b`, `nanolm-400b`, `nanolm-1t`, `nanolm-2t` (Table 5's proportions; \
            point them at your files with --source or a track file: `nanolm data track nanolm-100b`).
            """,
        subcommands: [Build.self, Inspect.self, ShowTrack.self]
    )

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tokenize a track and write train/validation shards with an index.json.",
            discussion: """
                Trains a byte-level BPE tokenizer on a sample of the track (or uses --tokenizer), encodes \
                every domain, holds out whole documents from training, samples each domain to its share \
                of --tokens (repeating a domain that is too small, and saying so), and writes uint16 \
                (uint32 above 65536 ids) shards with EOS after every document. The validation split is \
                the held-out documents, or with --validation-document-tokens a window of each of many \
                documents training never reads (the nano track's default: 256 tokens from each, 2% of \
                --tokens in all).
                """)

        @Option(help: "A built-in track (\(BuiltinTracks.names.joined(separator: ", "))) or a track JSON file.")
        var track: String
        @Option(help: "Output directory.") var out: String
        @Option(help: "Vocabulary size of the BPE tokenizer to train (padded to a multiple of 64).") var vocab = 8192
        @Option(help: "A tokenizer to use instead of training one: a directory (from `nanolm tokenizer train` or a build), GPT-2's vocab.json + merges.txt, a .tiktoken file, or `bytes` for byte-level ids.")
        var tokenizer: String?
        @Option(help: "Training tokens to sample (overrides the track's budget).") var tokens: Int?
        @Option(help: "Sampling seed (overrides the track's).") var seed: UInt64?
        @Option(help: "Tokens to hold out from training, in whole documents (overrides the track's).") var validationTokens: Int?
        @Option(help: "Validate on windows of at most this many tokens, one from each of many documents training never reads (held out, or left unread by the sampling): more documents of fewer tokens, a validation loss that depends less on which documents were drawn; training is the same (overrides the track's; docs/DESIGN.md, \"The validation set\").")
        var validationDocumentTokens: Int?
        @Option(help: "The size of that split of windows (overrides the track's; default: the held-out tokens).")
        var validationSplitTokens: Int?
        @Option(parsing: .singleValue, help: "DOMAIN=PATH: read DOMAIN from PATH (file, directory or glob; repeatable).")
        var source: [String] = []
        @Option(help: "Bytes of text to train the tokenizer on.") var sampleBytes = 8_000_000
        @Option(help: "Tokens per shard file.") var shardTokens = 50_000_000
        @Flag(help: "Print the index as JSON at the end.") var json = false

        func validate() throws {
            if let validationTokens, validationTokens < 0 { throw ValidationError("--validation-tokens must be ≥ 0, got \(validationTokens)") }
            if let n = validationDocumentTokens, n < 1 {
                throw ValidationError("--validation-document-tokens must be positive, got \(n); leave it out to hold out whole documents")
            }
            if let n = validationSplitTokens, n < 1 { throw ValidationError("--validation-split-tokens must be positive, got \(n)") }
        }

        func run() throws {
            let started = Date()
            var track = try loadTrack(self.track)
            if let tokens { track.tokens = tokens; track.validationTokens = nil; track.validationSplitTokens = nil }
            if let seed { track.seed = seed }
            if let validationTokens { track.validationTokens = validationTokens }
            if let validationDocumentTokens { track.validationDocumentTokens = validationDocumentTokens }
            if let validationSplitTokens { track.validationSplitTokens = validationSplitTokens }
            try applySources(&track)
            try track.validate(file: self.track)
            for d in track.domains where d.sources.contains(where: { $0.paths?.contains { $0.hasPrefix("DATA/") } ?? false }) {
                throw CLIError("domain \(d.name) has no data yet: pass --source \(d.name)=PATH, or write a track file (nanolm data track \(track.name) > track.json) and edit its paths")
            }
            if let packages = track.packages { try checkPackages(packages, track: track) }

            let outURL = URL(fileURLWithPath: out)
            let codec: any TokenCodec
            if let tokenizer {
                codec = tokenizer == "bytes" ? ByteCodec() : try TokenCodecs.load(directory: URL(fileURLWithPath: tokenizer))
            } else if let trainer = TokenCodecs.trainer {
                let builder = TrackBuilder(track: track, codec: ByteCodec())
                let sample = try builder.tokenizerSample(bytes: sampleBytes)
                let t0 = Date()
                log("[data] training a \(vocab)-id BPE tokenizer on \(sample.count) documents")
                codec = try trainer(sample, vocab)
                log(String(format: "[data] tokenizer trained in %.1f s", Date().timeIntervalSince(t0)))
            } else {
                log("[data] warning: no BPE trainer in this build; using byte-level ids (--tokenizer bytes)")
                codec = ByteCodec()
            }
            log("[data] track \(track.name): \(formatCount(track.tokens)) training tokens over \(track.domains.count) domains → \(outURL.path)")
            let builder = TrackBuilder(track: track, codec: codec)
            builder.tokensPerShard = shardTokens
            builder.progress = log
            let index = try builder.build(into: outURL)
            let seconds = Date().timeIntervalSince(started)
            if json {
                print(try encodeJSON(index))
            } else {
                print(summary(index))
                print(String(format: "built in %.1f s", seconds))
            }
        }

        func applySources(_ track: inout Track) throws {
            var replaced = Set<String>()
            for spec in source {
                guard let eq = spec.firstIndex(of: "=") else {
                    throw ValidationError("--source \(spec): expected DOMAIN=PATH")
                }
                let name = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
                guard let d = track.domains.firstIndex(where: { $0.name == name }) else {
                    throw ValidationError("--source \(spec): track \(track.name) has no domain \(name) (it has \(track.domains.map(\.name).joined(separator: ", ")))")
                }
                let format: TrackSource.Format = path.contains(".jsonl") || path.contains(".json.") ? .jsonl
                    : path.hasSuffix(".html") ? .html : (track.domains[d].sources.first?.format ?? .text)
                let new = TrackSource(paths: [path], format: format, field: track.domains[d].sources.first?.field,
                                      extensions: track.domains[d].sources.first?.extensions)
                if replaced.insert(name).inserted { track.domains[d].sources = [new] } else { track.domains[d].sources.append(new) }
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a shard directory: tokens per domain and split, sampling, and a decoded batch per objective.")

        @Argument(help: "A directory made by `nanolm data build`.") var directory: String
        @Option(help: "Sequence length of the sample batches.") var length = 48
        @Option(help: "Seed of the sample batches.") var seed: UInt64 = 0
        @Flag(help: "Check every shard's checksum against the index.") var verify = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let url = URL(fileURLWithPath: directory)
            let data = try ShardedData(directory: url, verifyChecksums: verify)
            let index = data.index
            var codec: any TokenCodec = ByteCodec()
            var codecNote: String?
            if let dir = index.tokenizer.directory {
                do { codec = try TokenCodecs.load(index.tokenizer.name, from: url.appendingPathComponent(dir)) } catch {
                    codecNote = "cannot load the tokenizer (\(error)); showing ids"
                }
            }
            var samples: [String: [String: String]] = [:]
            for objective in DataObjective.allCases {
                let source = try data.batches(objective, batchSize: 1, sequenceLength: length, seed: seed)
                let batch = try source.trainingBatch(step: 0, micro: 0)
                func text(_ t: Tensor?) throws -> String? {
                    guard let t else { return nil }
                    let ids = try t.toArray(Int64.self).map { Int32(truncatingIfNeeded: $0) }
                    if codecNote != nil { return ids.map(String.init).joined(separator: " ") }
                    return render(ids, codec: codec)
                }
                var entry = ["inputs": try text(batch.inputs)!, "targets": try text(batch.targets)!]
                if let d = try text(batch.decoderInputs) { entry["decoder_inputs"] = d }
                samples[objective.rawValue] = entry
            }
            if json {
                let indexObject = try JSONSerialization.jsonObject(with: Data(try encodeJSON(index).utf8))
                let object: [String: Any] = ["index": indexObject, "samples": samples, "verified": verify]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
                return
            }
            print(summary(index))
            if verify {
                let shards = index.splits.values.flatMap(\.shards), unchecked = shards.filter { $0.checksum == nil }.count
                print("checksums: \(shards.count - unchecked) shards match the index"
                      + (unchecked > 0 ? "; \(unchecked) have none (an index from an older nanolm: rebuild to check them)" : ""))
            }
            if let codecNote { print("note: \(codecNote)") }
            for objective in DataObjective.allCases {
                let s = samples[objective.rawValue]!
                let title = ["causal": "causal LM (GPT, Llama)", "masked": "masked LM (BERT); · = no loss",
                             "spans": "span corruption (T5)"][objective.rawValue]!
                print("\n── sample batch, \(title), step 0, seed \(seed)")
                print("inputs:  \(s["inputs"]!.debugDescription)")
                print("targets: \(s["targets"]!.debugDescription)")
                if let d = s["decoder_inputs"] { print("decoder: \(d.debugDescription)") }
            }
        }
    }

    struct ShowTrack: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "track", abstract: "Print a built-in track as JSON (a starting point for your own track file).")
        @Argument(help: "One of \(BuiltinTracks.names.joined(separator: ", ")).") var name: String
        func run() throws {
            guard let track = BuiltinTracks.named(name) else {
                throw ValidationError("no built-in track \(name) (there are \(BuiltinTracks.names.joined(separator: ", ")))")
            }
            print(try track.json())
        }
    }
}

func loadTrack(_ name: String) throws -> Track {
    if let track = BuiltinTracks.named(name) { return track }
    guard FileManager.default.fileExists(atPath: name) else {
        throw ValidationError("--track \(name): neither a built-in track (\(BuiltinTracks.names.joined(separator: ", "))) nor a file")
    }
    return try Track.load(URL(fileURLWithPath: name))
}

/// Fails early, naming the packages, when the nano track's Debian packages are missing.
func checkPackages(_ packages: [String], track: Track) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["dpkg-query", "-W", "-f", "${Package} ${Status}\n"] + packages
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return }  // not a Debian system: the sources' own errors will tell
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    let installed = Set(output.split(separator: "\n").filter { $0.hasSuffix("install ok installed") }.map { String($0.split(separator: " ")[0]) })
    let missing = packages.filter { !installed.contains($0) }
    if !missing.isEmpty {
        throw CLIError("track \(track.name) reads text from Debian packages that are not installed: \(missing.joined(separator: " ")). Install them: apt-get install \(missing.joined(separator: " ")) (scripts/deps.sh does this)")
    }
}

/// The human-readable account of a shard directory: splits, tokens per domain, what was repeated.
func summary(_ index: ShardIndex) -> String {
    var lines: [String] = []
    lines.append("track \(index.track), tokenizer \(index.tokenizer.name) (\(index.tokenizer.vocabularySize) ids, hash \(index.tokenizer.hash)), \(index.dtype.rawValue) tokens, seed \(index.seed)")
    let train = index.splits["train"], validation = index.splits["validation"]
    func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, n - s.count))
        return left ? s + fill : fill + s
    }
    let header = [pad("domain", 14, left: true), pad("share", 8), pad("train", 10), pad("actual", 8), pad("available", 10),
                  pad("validation", 11), pad("epochs", 7)]
    lines.append(header.joined(separator: " "))
    for d in index.domains {
        let t = train?.tokensPerDomain[d.name] ?? 0, total = max(train?.tokens ?? 1, 1)
        let row = [pad(d.name, 14, left: true), pad(String(format: "%.2f%%", d.proportion * 100), 8), pad(formatCount(t), 10),
                   pad(String(format: "%.2f%%", Double(t) / Double(total) * 100), 8), pad(formatCount(d.availableTokens), 10),
                   pad(formatCount(validation?.tokensPerDomain[d.name] ?? 0), 11), pad(String(format: "%.2f", d.epochs), 7)]
        lines.append(row.joined(separator: " ") + (d.epochs > 1 ? "  repeated" : ""))
    }
    lines.append("train: \(formatCount(train?.tokens ?? 0)) tokens, \(train?.documents ?? 0) documents, \(train?.shards.count ?? 0) shards; validation: \(formatCount(validation?.tokens ?? 0)) tokens, \(validation?.documents ?? 0) documents"
        + (index.validationDocumentTokens.map { " (excerpts of ≤ \($0) tokens of documents training never reads)" } ?? " (held out whole)"))
    let repeated = index.domains.filter { $0.epochs > 1 }
    if !repeated.isEmpty {
        lines.append("repeated (fewer tokens than their share): " + repeated.map { "\($0.name) ×" + String(format: "%.2f", $0.epochs) }.joined(separator: ", "))
    }
    for d in index.domains where d.skipped > 0 {
        lines.append("\(d.name): skipped \(d.skipped) documents (first: \(d.firstSkipped ?? "?"))")
    }
    return lines.joined(separator: "\n")
}
