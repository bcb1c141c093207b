import ArgumentParser
import LawCommands
import Foundation
import NanoLM
import Torch

/// `nanolm export`: a trained run as a directory Hugging Face transformers loads.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TorchCommand.export.rawValue,
        abstract: TorchCommand.export.abstract,
        discussion: """
            Writes DIR with model.safetensors (HF's names and layouts; sharded with an index above \
            --max-shard-size), config.json (GPT2LMHeadModel, LlamaForCausalLM, BertForMaskedLM or \
            T5ForConditionalGeneration), generation_config.json, the tokenizer (tokenizer.json; GPT-2's \
            vocab.json and merges.txt for a BPE) and a README.md model card. μP's attention scale and \
            output multiplier have no place in HF's modules, so they are folded into the query \
            projections and the readout (docs/DESIGN.md, "Hugging Face export").

            --verify then loads DIR with transformers (scripts/hf_verify.py, in the .venv that \
            scripts/python.sh makes) and compares its logits and token ids with nanolm's. Examples:
              nanolm export runs/gpt-256 --out hf/gpt-256 --verify
              nanolm export runs/gpt-256 --out hf/gpt-256-bf16 --dtype bfloat16
              nanolm export --study examples/nano.yaml --design gpt --width 288 --out hf/nano-gpt-288
            """)

    @Argument(help: "A run directory written by `nanolm train`.") var runDir: String?
    @Option(help: "The directory to write.") var out: String
    @Option(help: "Weights' dtype: float32, bfloat16 or float16.") var dtype: ExportDType = .float32
    @Option(help: "Export only if the checkpoint is from this step (a run keeps its latest checkpoint).") var step: Int?
    @Option(help: "The data directory the run trained on, for its tokenizer, when the path in the run's data.txt does not resolve ('synthetic': no tokenizer).")
    var data: String?
    @Option(help: "A study file: export one of its runs (with --design and --width) instead of RUN.") var study: String?
    @Option(help: "With --study: the study directory (default: studies/NAME).") var dir: String?
    @Option(help: "With --study: the design's name.") var design: String?
    @Option(help: "With --study: the width.") var width: Int?
    @Option(name: .customLong("max-shard-size"), help: "Shard the weights above this many MB (HF's default: 5000).") var maxShardMB = 5000
    @Flag(help: "Replace an earlier export in --out.") var force = false
    @Flag(help: "Load the export with transformers and compare logits and token ids with nanolm's.") var verify = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        if study == nil && runDir == nil { throw ValidationError("give a run directory, or --study FILE --design D --width W") }
        if study != nil && runDir != nil { throw ValidationError("give a run directory or --study, not both") }
        if study != nil && (design == nil || width == nil) { throw ValidationError("--study needs --design and --width") }
        if !(1 ... 1_000_000_000).contains(maxShardMB) { throw ValidationError("--max-shard-size must be between 1 and 1000000000 (MB), got \(maxShardMB)") }
    }

    func run() throws {
        let dtype = self.dtype.dtype
        let runDirectory: URL
        if let study, let design, let width {
            let spec: StudySpec
            spec = try StudySpec.load(URL(fileURLWithPath: study))
            let studyDirectory = URL(fileURLWithPath: dir ?? "studies/\(spec.name)")
            runDirectory = try ExportSource.studyRun(spec, directory: studyDirectory, design: design, width: width)
        } else {
            runDirectory = URL(fileURLWithPath: runDir!)
        }
        let source = try ExportSource(run: runDirectory, step: step, data: data)
        let out = URL(fileURLWithPath: self.out)
        let export = HFExport(dtype: dtype, maxShardBytes: maxShardMB * 1_000_000, overwrite: force)
        let report = try export.write(source, to: out)
        var verification: ExportCheck.Result?
        if verify { verification = try check(source, out: out, dtype: dtype) }

        if json {
            struct Output: Encodable { var export: HFExport.Report; var verification: ExportCheck.Result? }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(Output(export: report, verification: verification)), as: UTF8.self))
        } else {
            print("exported \(runDirectory.path) (step \(source.step)) as \(report.modelClass) to \(out.path)")
            print("  files: \(report.files.joined(separator: ", "))")
            print(String(format: "  folded: queries × %.6g, readout × %.6g (%d tensors); %d Conv1D weights transposed",
                         report.queryFactor, report.readoutFactor, report.foldedTensors.count, report.transposedTensors.count))
            if let note = report.tokenizerNote { print("  no tokenizer files: \(note)") }
            if let v = verification {
                print(String(format: "  verified with transformers: max |Δlogit| %.3g (relative %.3g), tokenizer %@",
                             v.maxAbsDiff, v.maxRelDiff, v.tokenizerOK.map { $0 ? "same ids" : "DIFFERENT ids" } ?? "not exported"))
            }
        }
        if let v = verification, !v.passed {
            throw ValidationError("verification failed: \(v.problems.joined(separator: "; "))" + (v.logitsOK ? "" : String(format: " (relative logit difference %.3g)", v.maxRelDiff)))
        }
    }

    /// Compares the export with nanolm through scripts/hf_verify.py: 1e-5 relative in float32; bfloat16
    /// and float16 weights round each weight to 8 or 11 bits, so there 5e-2.
    func check(_ source: ExportSource, out: URL, dtype: DType) throws -> ExportCheck.Result {
        guard let root = packageRoot() else {
            throw ValidationError("--verify needs scripts/hf_verify.py: run nanolm from its source checkout, or set NANOLM_ROOT to it")
        }
        let python = ProcessInfo.processInfo.environment["NANOLM_PYTHON"] ?? root.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw ValidationError("--verify needs Python with transformers: run `scripts/python.sh -c pass` in \(root.path) once (it makes .venv), or set NANOLM_PYTHON")
        }
        let reference = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-export-reference-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: reference) }
        try ExportCheck.writeReference(source, to: reference)
        let results = try ExportCheck.verify(python: python, script: root.appendingPathComponent("scripts/hf_verify.py"),
                                             pairs: [(out, reference)], tolerance: dtype == .float32 ? 1e-5 : 5e-2)
        return results[0]
    }

    /// The source checkout: NANOLM_ROOT, or the first directory above the binary or the working directory
    /// that holds scripts/hf_verify.py.
    func packageRoot() -> URL? {
        let fm = FileManager.default
        if let root = ProcessInfo.processInfo.environment["NANOLM_ROOT"] { return URL(fileURLWithPath: root) }
        for start in [URL(fileURLWithPath: selfExecutable()), URL(fileURLWithPath: fm.currentDirectoryPath)] {
            var url = start.resolvingSymlinksInPath()
            while url.path != "/" {
                if fm.fileExists(atPath: url.appendingPathComponent("scripts/hf_verify.py").path) { return url }
                url.deleteLastPathComponent()
            }
        }
        return nil
    }
}

/// The element types an export can write.
enum ExportDType: String, CaseIterable, ExpressibleByArgument {
    case float32, bfloat16, float16

    var dtype: DType {
        switch self {
        case .float32: .float32
        case .bfloat16: .bfloat16
        case .float16: .float16
        }
    }
}
