import Foundation
import ModelSpec

/// The tokenizer as Hugging Face loads it: `tokenizer.json` (the `tokenizers` library's format, which
/// `PreTrainedTokenizerFast` and `AutoTokenizer` read), `tokenizer_config.json` and
/// `special_tokens_map.json`; for a BPE with a merge list also GPT-2's `vocab.json` and `merges.txt`.
///
/// Both of nanolm's tokenizers are byte-level: a BPE (``Tokenizer``, merges ranked by line, or tiktoken's
/// ranks turned into merges) becomes HF's ByteLevel pre-tokenizer (GPT-2's pattern; cl100k's as a Split regex before it) + BPE model; byte ids
/// (``ByteCodec``) become a BPE with the 256 byte tokens and no merges, the whole text one pre-token. Special tokens (EOS, [MASK], [PAD], T5's
/// sentinels `<extra_id_N>`, which every nanolm tokenizer has) keep nanolm's ids as added tokens.
public enum HFTokenizerFiles {
    /// Why a tokenizer cannot be exported.
    public struct Unsupported: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "the tokenizer cannot be exported: \(reason)" }
    }

    /// Writes the files into `directory`; returns their names.
    @discardableResult
    public static func write(_ codec: any TokenCodec, architecture: Architecture, maxLength: Int, to directory: URL) throws -> [String] {
        let special = codec.special
        // nanolm's tokenizers give every model the same specials, T5's sentinels included.
        let specials = ([("<|endoftext|>", special.eos), ("[MASK]", special.mask), ("[PAD]", special.pad)]
            + (0 ..< 100).map { ("<extra_id_\($0)>", special.sentinel($0)) }).filter { $0.1 >= 0 && $0.1 < special.vocabularySize }

        var vocabulary: [String: Int] = [:]
        var merges: [String] = []
        let useRegex: Bool
        var ignoreMerges = false
        var split: String?  // a pre-tokenization regex HF's ByteLevel does not have built in
        var files = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
        switch codec {
        case let bpe as Tokenizer:
            for (id, bytes) in bpe.tokens.enumerated() where !bytes.isEmpty { vocabulary[byteLevelString(bytes)] = id }
            let pairs = bpe.rule == .merges ? bpe.merges : mergesFromRanks(bpe)
            merges = pairs.map { byteLevelString(bpe.tokens[Int($0.0)]) + " " + byteLevelString(bpe.tokens[Int($0.1)]) }
            useRegex = bpe.pattern == .gpt2
            split = bpe.pattern == .cl100k ? cl100kPattern : nil
            ignoreMerges = bpe.rule == .ranks
            if bpe.rule == .merges {
                try bpe.writeGPT2(vocabulary: directory.appendingPathComponent("vocab.json"), merges: directory.appendingPathComponent("merges.txt"))
                files += ["vocab.json", "merges.txt"]
            }
        case is ByteCodec:
            for b in 0 ..< 256 { vocabulary[byteLevelString([UInt8(b)])] = b }
            useRegex = false
        default:
            throw Unsupported(reason: "tokenizer \"\(codec.name)\" has no Hugging Face form")
        }
        // The specials are in the model's vocabulary too, under their own ids (as in GPT-2's tokenizer.json).
        for (name, id) in specials { vocabulary[name] = id }

        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": useRegex]
        let tokenizer: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(), "padding": NSNull(),
            "added_tokens": specials.sorted { $0.1 < $1.1 }.map { name, id in
                ["id": id, "content": name, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true] as [String: Any]
            },
            "normalizer": NSNull(),
            "pre_tokenizer": split.map { pattern -> [String: Any] in
                ["type": "Sequence", "pretokenizers": [
                    ["type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false] as [String: Any], byteLevel]]
            } ?? byteLevel,
            "post_processor": NSNull(),
            "decoder": byteLevel,
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": ignoreMerges,
                "vocab": vocabulary, "merges": merges,
            ] as [String: Any],
        ]
        try writeJSON(tokenizer, to: directory.appendingPathComponent("tokenizer.json"))

        var map: [String: Any] = ["eos_token": "<|endoftext|>", "pad_token": "[PAD]", "mask_token": "[MASK]"]
        if architecture == .gpt || architecture == .llama { map["bos_token"] = "<|endoftext|>" }
        map["additional_special_tokens"] = (0 ..< 100).map { "<extra_id_\($0)>" }
        try writeJSON(map, to: directory.appendingPathComponent("special_tokens_map.json"))
        var config = map
        config.merge([
            "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": maxLength,
            "clean_up_tokenization_spaces": false, "add_prefix_space": false,
        ]) { $1 }
        try writeJSON(config, to: directory.appendingPathComponent("tokenizer_config.json"))
        return files
    }

    /// cl100k_base's pre-tokenization pattern as tiktoken 0.14 writes it (nanolm's ``PreTokenizer/cl100k``
    /// scanner follows the same string), for HF's Split pre-tokenizer.
    static let cl100kPattern = #"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"#

    /// tiktoken's ranks as HF merges, as transformers' tiktoken converter derives them: a token of two or
    /// more bytes is the merge of the two pieces its bytes reduce to under tiktoken's algorithm with only
    /// lower ranks (lowest-ranked pair first). With `ignore_merges` (a pre-token that is a token is taken
    /// whole, as tiktoken does) HF's BPE then encodes as tiktoken.
    static func mergesFromRanks(_ bpe: Tokenizer) -> [(Int32, Int32)] {
        var merges: [(Int32, Int32)] = []
        for (rank, bytes) in bpe.tokens.enumerated() where bytes.count > 1 {
            var parts = bytes.map { [$0] }
            while parts.count > 2 {
                var best: (rank: Int32, at: Int)?
                for i in 0 ..< parts.count - 1 {
                    if let id = bpe.pieces.id(of: parts[i] + parts[i + 1]), id < rank, id < best?.rank ?? .max { best = (id, i) }
                }
                guard let (_, i) = best else { break }
                parts[i] += parts[i + 1]
                parts.remove(at: i + 1)
            }
            if parts.count == 2, let a = bpe.pieces.id(of: parts[0]), let b = bpe.pieces.id(of: parts[1]) { merges.append((a, b)) }
        }
        return merges
    }
}
