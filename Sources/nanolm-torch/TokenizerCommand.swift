import ArgumentParser
import LawCommands
import Foundation
import NanoLM

/// `nanolm tokenizer train|encode|decode`: the byte-level BPE of GPT-2 on its own.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TorchCommand.tokenizer.rawValue,
        abstract: TorchCommand.tokenizer.abstract,
        discussion: """
            A tokenizer is a directory written by `train` (codec.json with vocab.json + merges.txt), \
            GPT-2's own files (a directory or vocab.json with merges.txt beside it), or a tiktoken rank \
            file (FILE.tiktoken, e.g. r50k_base, or cl100k_base with its own pattern). Special tokens `<|endoftext|>`, `[MASK]`, \
            `[PAD]` and `<extra_id_0>`…`<extra_id_99>` have fixed ids (docs/DESIGN.md, "Tokenizer").
            """,
        subcommands: [Train.self, Encode.self, Decode.self]
    )

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a BPE on text files or directories and save it.",
            discussion: """
                Reads plain text (.jsonl files: the "text" field; .gz/.zst are decompressed), one document \
                per file, up to --max-bytes; merges the most frequent pair until the vocabulary (specials \
                included) has --vocab ids; pads it to a multiple of 64. Example:
                  nanolm tokenizer train --input /usr/lib/python3.11 --vocab 8192 --out tok
                """)
        @Option(parsing: .upToNextOption, help: "Text files or directories (searched recursively).") var input: [String]
        @Option(help: "Vocabulary size, special tokens included (padded to a multiple of 64).") var vocab = 8192
        @Option(help: "Output directory.") var out: String
        @Option(help: "Read at most this many bytes of text.") var maxBytes = 100_000_000
        @Flag(help: "Print a JSON summary.") var json = false

        func run() throws {
            let started = Date()
            var documents: [String] = [], bytes = 0, skipped = SkipCounter()
            struct Enough: Error {}
            let reader = SourceReader()
            do {
                for path in input {
                    let format: TrackSource.Format = path.contains(".jsonl") ? .jsonl : .text
                    try reader.documents(of: TrackSource(paths: [path], format: format), skipped: &skipped) { doc in
                        documents.append(doc)
                        bytes += doc.utf8.count
                        if bytes >= maxBytes { throw Enough() }
                    }
                }
            } catch is Enough {}
            guard bytes > 0 else { throw CLIError("no text in \(input.joined(separator: " "))") }
            log("[tokenizer] \(documents.count) documents, \(formatCount(bytes)) bytes" + (skipped.count > 0 ? "; skipped \(skipped.count) (first: \(skipped.first ?? "?"))" : ""))
            let t0 = Date()
            let tokenizer = try Tokenizer.train(documents: documents, vocabularySize: vocab, progress: log)
            let seconds = Date().timeIntervalSince(t0)
            try tokenizer.save(to: URL(fileURLWithPath: out))
            let summary: [String: Any] = ["out": out, "vocabulary_size": tokenizer.special.vocabularySize, "merges": tokenizer.merges.count,
                                          "hash": tokenizer.hash, "bytes": bytes, "documents": documents.count, "train_seconds": seconds,
                                          "eos": tokenizer.special.eos, "mask": tokenizer.special.mask, "pad": tokenizer.special.pad,
                                          "skipped": skipped.count]
            if json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
            } else {
                print(String(format: "trained %d merges in %.1f s (%d ids padded to %d); saved to %@ (hash %@)", tokenizer.merges.count, seconds,
                             tokenizer.ordinaryCount + Tokenizer.specialNames.count, tokenizer.special.vocabularySize, out, tokenizer.hash))
                print("special ids: <|endoftext|> \(tokenizer.special.eos), [MASK] \(tokenizer.special.mask), [PAD] \(tokenizer.special.pad), <extra_id_0> \(tokenizer.special.sentinel(0)) … <extra_id_99> \(tokenizer.special.sentinel(99))")
                print(String(format: "total %.1f s", Date().timeIntervalSince(started)))
            }
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the ids of TEXT (or standard input).",
            discussion: "Ids are printed space-separated; --json prints {\"ids\": […], \"tokens\": […]} with each token's text.")
        @Option(help: "A tokenizer directory, a vocab.json (merges.txt beside it) or a .tiktoken file.") var tokenizer: String
        @Flag(help: "Treat special-token text (<|endoftext|>, [MASK], …) as ordinary text.") var noSpecial = false
        @Option(help: "Pre-tokenization pattern, gpt2 or cl100k (default: the tokenizer's own; cl100k for a file named *cl100k*).")
        var pattern: PreTokenizer?
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "Encode N times on one thread and N times on all cores, each with a cold cache, and print the timings as JSON instead of ids (bench/tokenizer_speed.sh).")
        var benchmarkRuns = 0
        @Argument(help: "Text to encode (default: standard input).") var text: String?

        func run() throws {
            let bpe = try Tokenizer.load(URL(fileURLWithPath: tokenizer), pattern: pattern)
            let input = text ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            if benchmarkRuns > 0 { return try benchmark(input) }
            let ids = input.utf8.count > 4 << 20 ? bpe.encodeParallel(input, allowingSpecialTokens: !noSpecial)
                                                 : bpe.encode(input, allowingSpecialTokens: !noSpecial)
            if json {
                let object: [String: Any] = ["ids": ids.map(Int.init), "tokens": ids.map { bpe.decode([$0]) }]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(ids.map(String.init).joined(separator: " "))
            }
        }

        func benchmark(_ input: String) throws {
            var serial: [Double] = [], parallel: [Double] = [], tokens = 0
            for _ in 0 ..< benchmarkRuns {
                for all in [false, true] {
                    let bpe = try Tokenizer.load(URL(fileURLWithPath: tokenizer), pattern: pattern)  // a cold cache each time
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let ids = all ? bpe.encodeParallel(input, allowingSpecialTokens: !noSpecial) : bpe.encode(input, allowingSpecialTokens: !noSpecial)
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                    if all { parallel.append(seconds) } else { serial.append(seconds) }
                    tokens = ids.count
                }
            }
            let object: [String: Any] = ["bytes": input.utf8.count, "tokens": tokens, "seconds": serial, "parallel_seconds": parallel]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the text of IDS (or of the ids on standard input, separated by spaces, commas or newlines).")
        @Option(help: "A tokenizer directory, a vocab.json (merges.txt beside it) or a .tiktoken file.") var tokenizer: String
        @Argument(help: "Token ids (default: standard input).") var ids: [String] = []

        func run() throws {
            let bpe = try Tokenizer.load(URL(fileURLWithPath: tokenizer))
            let words = ids.isEmpty
                ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self).split { " ,\n\t[]".contains($0) }.map(String.init)
                : ids.flatMap { $0.split(separator: ",").map(String.init) }
            var values: [Int32] = []
            for w in words {
                guard let id = Int32(w), id >= 0, Int(id) < bpe.special.vocabularySize else {
                    throw ValidationError("\(w.debugDescription) is not an id of this tokenizer (0..<\(bpe.special.vocabularySize))")
                }
                values.append(id)
            }
            FileHandle.standardOutput.write(Data(bpe.decodeBytes(values)))
            if isatty(1) != 0 { print() }
        }
    }
}

