import Foundation
import XCTest
@testable import NanoLM
import Torch

/// `nanolm export` against Hugging Face transformers itself: for GPT, Llama, BERT and T5, under SP and μP
/// (width 32 ≠ base width 16, τ = 2.5, attention multiplier 6 so that even T5's query factor is not 1), tied and untied, AutoModelFor….from_pretrained(DIR) must
/// reproduce nanolm's logits on a fixed batch within 1e-5 relative, and AutoTokenizer must encode text
/// to nanolm's ids (scripts/hf_verify.py, one Python process for all exports). A GPT export with one
/// square matrix transposed by mistake must fail the same check.
final class ExportTests: XCTestCase {
    static let tolerance = 1e-5

    /// The Python with transformers: NANOLM_PYTHON (scripts/test.sh sets it), else the package's .venv.
    func python() throws -> String {
        if let python = ProcessInfo.processInfo.environment["NANOLM_PYTHON"] { return python }
        let venv = packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: venv) else { throw XCTSkip("no .venv: run scripts/test.sh (it installs transformers)") }
        return venv
    }

    /// A tiny model with every parameter random (biases and norm gains too, so that folding a factor into
    /// the wrong tensor shows), the query projections and readout included.
    func model(_ architecture: Architecture, muP: Bool, tied: Bool, vocabularySize: Int, seed: UInt64) throws -> (TrainingConfig, any LanguageModel) {
        let parametrization = muP ? Parametrization(kind: .muP, baseWidth: 16, zeroQuery: false, zeroReadout: false, attentionMultiplier: 6)
                              : .standard
        let config = ModelConfig(architecture: architecture, layers: 2, width: 32, vocabularySize: vocabularySize, sequenceLength: 16,
                                 headDim: 8, tiedEmbeddings: tied, parametrization: parametrization,
                                 hyper: MuHyperParameters(learningRate: 1e-2, initStd: 0.02, outputMultiplier: muP ? 2.5 : 1))
        let model = try makeModel(config, seed: seed)
        let generator = Generator(seed: seed + 1)
        try withNoGrad {
            for p in model.parameters {
                let fanIn = Double(p.shape.last ?? 1)
                if p.shape.count == 1 {
                    try p.value.normal_(mean: Parametrization.isNormGain(p.name) ? 1 : 0, std: 0.2, generator: generator)
                } else {
                    try p.value.normal_(mean: 0, std: 1 / fanIn.squareRoot(), generator: generator)
                }
            }
        }
        return (TrainingConfig(model: config, steps: 10, batchSize: 2), model)
    }

    func testExportsReproduceLogitsAndTokenizerInTransformers() throws {
        let python = try python()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-export-\(getpid())")
        try? FileManager.default.removeItem(at: root)
        defer { try? FileManager.default.removeItem(at: root) }

        let bpe = TokenizerTests.hf
        var pairs: [(export: URL, reference: URL)] = []
        var names: [String] = []
        var seed: UInt64 = 1
        for architecture in Architecture.allCases {
            // Llama exports byte-level ids, the others the BPE.
            let codec: any TokenCodec = architecture == .llama ? ByteCodec() : bpe
            for muP in [false, true] {
                for tied in [false, true] {
                    let name = "\(architecture.rawValue)-\(muP ? "mup" : "sp")-\(tied ? "tied" : "untied")"
                    let (config, model) = try self.model(architecture, muP: muP, tied: tied, vocabularySize: codec.special.vocabularySize, seed: seed)
                    seed += 10
                    let source = ExportSource(directory: root, config: config, model: model, step: 10, data: "fixture", codec: codec)
                    let directory = root.appendingPathComponent(name)
                    // One export sharded, to load through model.safetensors.index.json.
                    let export = HFExport(maxShardBytes: name == "llama-mup-tied" ? 40_000 : ShardedSafeTensors.defaultMaxShardBytes)
                    let report = try export.write(source, to: directory)
                    if name == "llama-mup-tied" { XCTAssert(report.files.contains("model.safetensors.index.json"), "\(report.files)") }
                    let reference = root.appendingPathComponent("\(name).reference.safetensors")
                    try ExportCheck.writeReference(source, to: reference)
                    pairs.append((directory, reference))
                    names.append(name)
                }
            }
        }
        // tiktoken's ranks (the same tokens as the BPE, ranked by id) go out as merges derived from the ranks.
        // With cl100k's pattern, a Split regex goes before the byte-level step.
        let cl100k = try Tokenizer(tiktoken: TokenizerTests.fixture("hf.tiktoken"), pattern: .cl100k)
        for (name, codec) in [("gpt-mup-untied-tiktoken", TokenizerTests.tiktoken), ("gpt-mup-untied-cl100k", cl100k)] {
            let (config, model) = try self.model(.gpt, muP: true, tied: false, vocabularySize: codec.special.vocabularySize, seed: seed)
            let source = ExportSource(directory: root, config: config, model: model, step: 10, data: "fixture", codec: codec)
            let directory = root.appendingPathComponent(name)
            try HFExport().write(source, to: directory)
            let reference = root.appendingPathComponent("\(name).reference.safetensors")
            try ExportCheck.writeReference(source, to: reference)
            pairs.append((directory, reference))
            names.append(name)
        }
        // The control: GPT-2's attn.c_proj is square, so a missing transpose loads without complaint.
        let broken = root.appendingPathComponent("gpt-mup-untied-transposed")
        try FileManager.default.copyItem(at: root.appendingPathComponent("gpt-mup-untied"), to: broken)
        let weightsURL = broken.appendingPathComponent("model.safetensors")
        var weights = try SafeTensors.load(weightsURL)
        let square = "transformer.h.0.attn.c_proj.weight"
        weights.tensors[square] = try weights.tensors[square]!.transpose(0, 1).contiguous()
        try SafeTensors.save(weights.tensors, metadata: weights.metadata, to: weightsURL)
        pairs.append((broken, root.appendingPathComponent("gpt-mup-untied.reference.safetensors")))

        let script = packageRoot.appendingPathComponent("scripts/hf_verify.py")
        let results = try ExportCheck.verify(python: python, script: script, pairs: pairs, tolerance: Self.tolerance)
        for (name, result) in zip(names, results) {
            print(String(format: "export %@: %@ max |Δlogit| %.3g (relative %.3g), tokenizer %@", name, result.modelClass,
                         result.maxAbsDiff, result.maxRelDiff, result.tokenizerOK.map { $0 ? "same ids" : "DIFFERENT ids" } ?? "none"))
            XCTAssert(result.passed, "\(name): \(result.problems.joined(separator: "; ")) (relative difference \(result.maxRelDiff))")
            XCTAssertEqual(result.tokenizerOK, true, name)
        }
        let control = try XCTUnwrap(results.last)
        print(String(format: "control (c_proj transposed): max |Δlogit| %.3g (relative %.3g)", control.maxAbsDiff, control.maxRelDiff))
        XCTAssertFalse(control.logitsOK, "a transposed square matrix must fail the check (relative difference \(control.maxRelDiff))")
    }

    func testFoldingFactorsFollowTheParametrization() throws {
        // μP, width 32, base 16, head 8, multiplier 6: nanolm's scale 6/8, HF's 1/√8, so queries × 6/√8; T5's HF has no scale: × 6/8.
        // Readout: τ/r = 2.5/2; a tied T5 readout also × √32 against HF's d_model^-1/2.
        for architecture in Architecture.allCases {
            for tied in [false, true] {
                let (config, model) = try self.model(architecture, muP: true, tied: tied, vocabularySize: 64, seed: 3)
                let weights = try HFWeights(parameters: model.parameters, config: config.model)
                XCTAssertEqual(weights.queryFactor, architecture == .t5 ? 0.75 : 6 / 8.0.squareRoot(), accuracy: 1e-12)
                XCTAssertEqual(weights.readoutFactor, 1.25 * (tied && architecture == .t5 ? 32.0.squareRoot() : 1), accuracy: 1e-12)
                XCTAssertFalse(weights.readoutTensors.isEmpty)
                XCTAssertEqual(weights.queryTensors.count, [.gpt: 2 * 2, .llama: 2, .bert: 2 * 2, .t5: 3 * 2][architecture], "\(architecture): weights (and biases) of every layer's queries")
            }
        }
        // SP: nothing to fold, except T5's attention scale 1/√8, which HF's T5 leaves to the weights.
        let (config, model) = try self.model(.t5, muP: false, tied: false, vocabularySize: 64, seed: 3)
        let weights = try HFWeights(parameters: model.parameters, config: config.model)
        XCTAssertEqual(weights.queryFactor, 1 / 8.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(weights.queryTensors.count, 3 * 2, "encoder self, decoder self and cross attention in 2 layers")
        XCTAssertEqual(weights.readoutFactor, 1)
    }

    func testExistingDirectoryNeedsOverwrite() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-export-busy-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("keep".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        let (config, model) = try self.model(.gpt, muP: true, tied: true, vocabularySize: 64, seed: 5)
        let source = ExportSource(directory: directory, config: config, model: model, step: 10)
        XCTAssertThrowsError(try HFExport().write(source, to: directory)) { XCTAssert("\($0)".contains("--force"), "\($0)") }
        let report = try HFExport(overwrite: true).write(source, to: directory)
        XCTAssertEqual(report.tokenizerNote, "the data is synthetic (random ids): there is no tokenizer")
        XCTAssert(FileManager.default.fileExists(atPath: directory.appendingPathComponent("notes.txt").path), "other files stay")
        let config2 = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as? [String: Any]
        XCTAssertEqual(config2?["model_type"] as? String, "gpt2")
        XCTAssertEqual(config2?["n_inner"] as? Int, 128)
        XCTAssertEqual(config2?["tie_word_embeddings"] as? Bool, true)
        let file = try SafeTensors.load(directory.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(file.metadata["format"], "pt")
        XCTAssertEqual(file.tensors["transformer.h.0.attn.c_attn.weight"]?.shape, [32, 96], "Conv1D: [in, out]")
        XCTAssertNil(file.tensors["lm_head.weight"], "tied: HF ties lm_head to wte")
    }

    /// data.txt keeps the path `nanolm train --data` was given; an export from elsewhere finds it above the run.
    func testRelativeDataPathResolvesAboveTheRun() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-export-data-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data/nano"), run = root.appendingPathComponent("runs/gpt")
        for directory in [data, run] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        try Data("{}".utf8).write(to: data.appendingPathComponent("index.json"))
        XCTAssertEqual(try ExportSource.resolve("data/nano", near: run), data.standardizedFileURL.path)
        XCTAssertEqual(try ExportSource.resolve("synthetic", near: run), "synthetic")
        XCTAssertThrowsError(try ExportSource.resolve("data/gone", near: run)) { XCTAssert("\($0)".contains("pass --data DIR"), "\($0)") }
    }
}
