import Foundation
import Torch

/// Writes a directory that Hugging Face transformers' `from_pretrained` loads: model.safetensors (HF's
/// names and layouts, μP folded in; see ``HFWeights``), config.json, generation_config.json for the
/// models that generate, the tokenizer files and a README.md model card.
public struct HFExport {
    /// The weights' dtype: float32, bfloat16 or float16.
    public var dtype: DType
    /// Above this many bytes the weights are sharded (model-0000k-of-0000n.safetensors + an index).
    public var maxShardBytes: Int
    /// Replace the files of an earlier export in the output directory.
    public var overwrite: Bool

    public init(dtype: DType = .float32, maxShardBytes: Int = ShardedSafeTensors.defaultMaxShardBytes, overwrite: Bool = false) {
        self.dtype = dtype
        self.maxShardBytes = maxShardBytes
        self.overwrite = overwrite
    }

    /// What was written.
    public struct Report: Codable, Sendable {
        public var directory: String
        public var modelClass: String
        public var files: [String]
        public var queryFactor: Double
        public var readoutFactor: Double
        public var foldedTensors: [String]
        public var transposedTensors: [String]
        /// Why there are no tokenizer files, when there are none.
        public var tokenizerNote: String?
    }

    /// Exports `source` into `directory` (created if missing; an existing non-empty one only with `overwrite`).
    @discardableResult
    public func write(_ source: ExportSource, to directory: URL) throws -> Report {
        guard [.float32, .bfloat16, .float16].contains(dtype) else {
            throw ExportError.output(directory.path, "dtype must be float32, bfloat16 or float16")
        }
        try prepare(directory)
        let model = source.config.model
        let weights = try HFWeights(parameters: source.model.parameters, config: model)
        var files = try ShardedSafeTensors.write(weights.converted(to: dtype), to: directory, maxShardBytes: maxShardBytes)
        let special = source.special
        try writeJSON(HFConfig.config(model, special: special, dtype: dtype), to: directory.appendingPathComponent("config.json"))
        files.append("config.json")
        if let generation = HFConfig.generation(model, special: special) {
            try writeJSON(generation, to: directory.appendingPathComponent("generation_config.json"))
            files.append("generation_config.json")
        }
        var tokenizerNote: String?
        var tokenizerText = "none"
        if let codec = source.codec {
            do {
                files += try HFTokenizerFiles.write(codec, architecture: model.architecture, maxLength: model.sequenceLength, to: directory)
                tokenizerText = "\(codec.name) (hash \(codec.hash)), as tokenizer.json"
            } catch let error as HFTokenizerFiles.Unsupported {
                tokenizerNote = error.description
            }
        } else {
            tokenizerNote = "the data is synthetic (random ids): there is no tokenizer"
        }
        if let tokenizerNote { tokenizerText = "none (\(tokenizerNote))" }
        let hfClass = HFConfig.modelClass(model.architecture)
        let card = ModelCard.render(source, weights: weights, dtype: HFConfig.torchName(dtype), hfClass: hfClass, tokenizer: tokenizerText,
                                    hasTokenizer: tokenizerNote == nil)
        try Data(card.utf8).write(to: directory.appendingPathComponent("README.md"), options: .atomic)
        files.append("README.md")
        return Report(directory: directory.path, modelClass: hfClass, files: files, queryFactor: weights.queryFactor,
                      readoutFactor: weights.readoutFactor, foldedTensors: weights.queryTensors + weights.readoutTensors,
                      transposedTensors: weights.transposed, tokenizerNote: tokenizerNote)
    }

    /// Creates `directory`, or clears an earlier export's files from it when `overwrite`.
    func prepare(_ directory: URL) throws {
        let fm = FileManager.default
        let existing = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
        if !existing.isEmpty {
            guard overwrite else {
                throw ExportError.output(directory.path, "exists and is not empty: choose another --out, or pass --force to replace an earlier export there")
            }
            let ours = Set(["model.safetensors", "model.safetensors.index.json", "config.json", "generation_config.json", "tokenizer.json",
                            "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "README.md"])
            for name in existing where ours.contains(name) || (name.hasPrefix("model-") && name.hasSuffix(".safetensors")) {
                try fm.removeItem(at: directory.appendingPathComponent(name))
            }
        }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
    }
}
