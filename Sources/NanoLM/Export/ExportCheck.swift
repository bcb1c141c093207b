import Foundation
import Torch

/// The check of an export against nanolm itself: nanolm's logits on fixed ids and its tokenizer's ids
/// for sample texts go into a reference file; scripts/hf_verify.py loads the export with transformers
/// (offline, from the directory alone), computes the same and compares.
public enum ExportCheck {
    /// Texts the tokenizer check encodes: ASCII, contractions, digits, accents, CJK, emoji, whitespace runs.
    public static let texts = [
        "Hello world! It's a test, isn't it? We'll see 123 + 4567 = 4690.",
        "  leading spaces, trailing spaces   \n\nnew lines\tand tabs",
        "naïve café — Zürich; 日本語のテキスト 🙂🚀",
    ]
    /// A text with special tokens, checked against nanolm's ids with specials allowed (BPE only).
    public static let specialText = "first document<|endoftext|>second [MASK] and [PAD] <extra_id_0> spans<extra_id_99>"

    /// The fixed ids [2, T]: a spread of ordinary ids, the same for every run of the same vocabulary.
    static func fixedIDs(length t: Int, bound: Int, offset: Int = 0) throws -> Tensor {
        var values: [Int64] = []
        for b in 0 ..< 2 {
            for i in 0 ..< t { values.append(Int64((b * 131 + i * 37 + offset * 11 + 5) % bound)) }
        }
        return try Tensor(values, shape: [2, t])
    }

    /// Writes nanolm's logits on fixed ids (and T5's decoder ids), and the tokenizer's ids, to `url`.
    public static func writeReference(_ source: ExportSource, to url: URL) throws {
        let model = source.config.model
        let special = source.special
        let bound = max(1, min(model.vocabularySize, special.randomTokenBound))
        let t = min(model.sequenceLength, 12)
        let ids = try fixedIDs(length: t, bound: bound)                        // [2, T]
        var tensors = ["input_ids": ids]
        let logits: Tensor = try withNoGrad {
            switch source.model {
            case let m as GPT: return try m.logits(ids)                          // [2, T, V]
            case let m as Llama: return try m.logits(ids)
            case let m as BERT: return try m.logits(ids)
            case let m as T5:
                // The decoder starts from [PAD] (T5's decoder start id), then ordinary ids: [2, T'].
                let rest = try fixedIDs(length: max(1, t / 2), bound: bound, offset: 1)
                let start = try Tensor.full([2, 1], value: Double(special.pad), dtype: .int64)
                let decoderIDs = try Tensor.cat([start, rest], dim: 1)
                tensors["decoder_input_ids"] = decoderIDs
                return try m.logits(ids, decoderInputs: decoderIDs)             // [2, T', V]
            default: throw ExportError.verification("unknown model type \(type(of: source.model))")
            }
        }
        tensors["logits"] = try logits.contiguous()
        var metadata = ["architecture": model.architecture.rawValue]
        if let codec = source.codec {
            var texts = texts
            var textIDs = texts.map { codec.encode($0).map(Int.init) }
            if let bpe = codec as? Tokenizer {
                texts.append(specialText)
                textIDs.append(bpe.encode(specialText, allowingSpecialTokens: true).map(Int.init))
            }
            metadata["texts"] = String(decoding: try JSONSerialization.data(withJSONObject: texts), as: UTF8.self)
            metadata["text_ids"] = String(decoding: try JSONSerialization.data(withJSONObject: textIDs), as: UTF8.self)
        }
        try SafeTensors.save(tensors, metadata: metadata, to: url)
    }

    /// One export's result, as scripts/hf_verify.py prints it (a JSON line).
    public struct Result: Codable, Sendable {
        public var export: String
        public var modelClass: String
        /// max |logits_HF − logits_nanolm|.
        public var maxAbsDiff: Double
        /// maxAbsDiff / max |logits_nanolm|.
        public var maxRelDiff: Double
        public var logitsOK: Bool
        /// nil when the export has no tokenizer.
        public var tokenizerOK: Bool?
        public var problems: [String]

        enum CodingKeys: String, CodingKey {
            case export, problems
            case modelClass = "model_class", maxAbsDiff = "max_abs_diff", maxRelDiff = "max_rel_diff"
            case logitsOK = "logits_ok", tokenizerOK = "tokenizer_ok"
        }

        public var passed: Bool { logitsOK && tokenizerOK != false && problems.isEmpty }
    }

    /// Runs `script` (scripts/hf_verify.py) with `python` on (export, reference) pairs; `tolerance` bounds
    /// the relative logit difference. One Python process for all pairs (importing torch is the slow part).
    public static func verify(python: String, script: URL, pairs: [(export: URL, reference: URL)], tolerance: Double) throws -> [Result] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, "--tolerance", "\(tolerance)"] + pairs.flatMap { [$0.export.path, $0.reference.path] }
        var environment = ProcessInfo.processInfo.environment
        environment["HF_HUB_OFFLINE"] = "1"
        environment["TRANSFORMERS_OFFLINE"] = "1"
        process.environment = environment
        // stdout (a JSON line per export) through a pipe; stderr (transformers' warnings, tracebacks) to a file.
        let errorsURL = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-hf-verify-\(getpid())-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: errorsURL.path, contents: nil) else {
            throw ExportError.verification("cannot create \(errorsURL.path)")
        }
        defer { try? FileManager.default.removeItem(at: errorsURL) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorsURL)
        do { try process.run() } catch {
            throw ExportError.verification("cannot run \(python): \(error.localizedDescription). Create the Python environment with scripts/python.sh (it installs transformers)")
        }
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: stdout, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("{") }
        let results = try lines.map { try JSONDecoder().decode(Result.self, from: Data($0.utf8)) }
        guard results.count == pairs.count else {
            let log = (try? String(contentsOf: errorsURL, encoding: .utf8)) ?? ""
            let tail = log.split(separator: "\n").suffix(15).joined(separator: "\n")
            throw ExportError.verification("\(script.lastPathComponent) exited with status \(process.terminationStatus) after \(results.count) of \(pairs.count) exports:\n\(tail)")
        }
        return results
    }
}
