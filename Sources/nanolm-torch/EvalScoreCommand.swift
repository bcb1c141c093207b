import ArgumentParser
import LawCommands
import Foundation
import NanoLM
import Torch

/// `nanolm eval score`: trained runs × multiple-choice tasks → accuracy per task and averaged.
struct EvalScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score trained runs on multiple-choice tasks: accuracy and error per task and averaged.",
        discussion: """
            Each choice is scored by its log-likelihood given the context under the run's final weights \
            (GPT or Llama); the prediction is the best choice by total log-likelihood (acc), per character \
            (acc_norm, as lm-evaluation-harness), per token (acc_token) or per byte (acc_byte). Accuracies \
            come with standard errors; error = 1 − the average accuracy under --metric (default acc_token, \
            the lowest-perplexity choice as LLM Foundry picks it for Gadre et al.'s downstream error). docs/EVAL.md has the details.

            Tasks: built-in ones generated from the held-out split of a shard directory (--data, default: \
            the data the run was trained on), or task files (--tasks) in nanolm's JSONL or as HellaSwag, \
            ARC and PIQA distribute them. Examples:

              nanolm eval runs/gpt-64
              nanolm eval runs/gpt-64 runs/gpt-128 --data data/nano --items 800 --json
              nanolm eval --study examples/nano.yaml
              nanolm eval runs/gpt-64 --tasks hellaswag_val.jsonl --format hellaswag --few-shot 5
              nanolm eval runs/gpt-64 --tasks valid.jsonl --format piqa --labels valid-labels.lst
              nanolm eval --data data/nano --save-tasks tasks/     (write the built-in tasks as JSONL)
            """)

    @Argument(help: "Run directories written by `nanolm train` (config.json + checkpoint.safetensors).") var runs: [String] = []
    @Option(help: "Evaluate every finished run of this study file.") var study: String?
    @Option(name: .customLong("study-dir"), help: "The study's directory (default: studies/NAME).") var studyDir: String?

    @Option(help: "A shard directory (`nanolm data build`): built-in tasks from its validation split, and its tokenizer.") var data: String?
    @Option(parsing: .upToNextOption, help: "Task files (JSONL) instead of the built-in tasks.") var tasks: [String] = []
    @Option(help: "Layout of --tasks files: nanolm, hellaswag, arc or piqa.") var format: TaskFormat = .nanolm
    @Option(help: "PIQA: the labels file (one 0/1 per line) for --tasks files without a label field.") var labels: String?
    @Flag(help: "A task-file line that cannot be read is an error (default: skip it, count it, report it).") var strict = false
    @Option(help: "Tokenizer for --tasks: 'bytes' or a tokenizer directory (default: the one next to the data).") var tokenizer: String?

    @Option(help: "Built-in tasks: items per task and domain (rounded down to a multiple of --choices).") var items = 400
    @Option(help: "Built-in tasks: choices per item.") var choices = 4
    @Option(help: "Built-in tasks: generation seed.") var seed: UInt64 = 0
    @Flag(name: .customLong("no-domains"), help: "Built-in tasks: one task per kind over all domains.") var noDomains = false
    @Option(name: .customLong("save-tasks"), help: "Write the tasks as nanolm JSONL files into this directory.") var saveTasks: String?

    @Option(name: .customLong("few-shot"), help: "Solved examples from the same task before each item.") var fewShot = 0
    @Option(name: .customLong("few-shot-seed"), help: "Seed for picking few-shot examples.") var fewShotSeed: UInt64 = 1234
    @Option(help: "The metric for the average and the error: acc, acc_norm, acc_token (LLM Foundry's, which Gadre et al. used) or acc_byte.")
    var metric: ChoiceMetric = .accToken
    @Option(name: .customLong("batch-size"), help: "Most sequences per forward pass.") var batchSize = 64
    @Option(help: deviceHelp) var device: DeviceChoice = .auto
    @Option(help: "libtorch threads (default: all cores).") var threads: Int?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if runs.isEmpty && study == nil && saveTasks == nil { throw ValidationError("give run directories, --study FILE, or --save-tasks DIR") }
        if items < choices || choices < 2 { throw ValidationError("--choices must be at least 2 and --items at least --choices") }
        if fewShot < 0 { throw ValidationError("--few-shot must be 0 or more") }
    }

    func run() throws {
        if let threads { Torch.threadCount = threads }
        try evaluate()
    }

    func evaluate() throws {
        let (directories, studyData) = try runDirectories()
        let dataDirectory = data ?? studyData ?? directories.lazy.compactMap(trainedData).first
        var notes: [String] = []

        // The tasks and the tokenizer they are encoded with.
        var taskList: [MultipleChoiceTask] = []
        var codec: (any TokenCodec)?
        if !tasks.isEmpty {
            taskList = try tasks.map { try TaskFile.read(URL(fileURLWithPath: $0), format: format, labels: labels.map(URL.init(fileURLWithPath:)), strict: strict) }
            for t in taskList where !t.skipped.isEmpty {
                notes.append("\(t.name): skipped \(t.skipped.count) bad line(s); first: \(t.skipped[0])")
            }
            if let tokenizer {
                codec = tokenizer == "bytes" ? ByteCodec() : try TokenCodecs.load(directory: URL(fileURLWithPath: tokenizer))
            } else if let dataDirectory {
                codec = try HeldOutDocuments.codec(directory: URL(fileURLWithPath: dataDirectory))
            } else if !directories.isEmpty {
                throw ValidationError("--tasks needs a tokenizer: pass --tokenizer bytes|DIR or --data DIR (the runs' data is not recorded)")
            }
        } else {
            guard let dataDirectory else {
                throw ValidationError("built-in tasks need --data DIR (a directory from `nanolm data build`); the run does not record one")
            }
            let held = try HeldOutDocuments(directory: URL(fileURLWithPath: dataDirectory))
            var options = GeneratedTaskOptions()
            options.itemsPerTask = items
            options.choices = choices
            options.seed = seed
            options.perDomain = !noDomains
            let made = try TaskGenerator(options: options).tasks(from: held.documents)
            taskList = made.tasks
            notes += made.notes
            if !held.knowsDomains { notes.append("\(dataDirectory): the index does not account for its validation documents by domain; tasks are over all of them") }
            codec = held.codec
            guard !taskList.isEmpty else { throw EvalError.data(dataDirectory, "its held-out split yields no tasks (\(notes.joined(separator: "; ")))") }
        }
        for n in notes { log("note: \(n)") }
        if let saveTasks { try save(taskList, to: URL(fileURLWithPath: saveTasks)) }

        var results: [RunEvaluation] = []
        for (r, directory) in directories.enumerated() {
            log("[eval] run \(r + 1)/\(directories.count): \(directory)")
            let checkpoint: EvalCheckpoint
            do { checkpoint = try EvalCheckpoint(directory: URL(fileURLWithPath: directory), device: device.resolve()) } catch let error as EvalError where r >= runs.count {
                // A study's run that cannot be scored (BERT, T5) is left out and said; a named run is an error.
                log("note: left out: \(error)")
                continue
            }
            if let codec, codec.special.vocabularySize > checkpoint.model.vocabularySize {
                throw EvalError.checkpoint(directory, "the tokenizer has \(codec.special.vocabularySize) ids but the model only \(checkpoint.model.vocabularySize): was it trained on other data?")
            }
            var scorer = ModelScorer(model: checkpoint.model, codec: codec!)
            scorer.maxBatchSize = batchSize
            var evaluator = Evaluator(fewShot: fewShot, seed: fewShotSeed)
            evaluator.progress = json ? { _ in } : { log($0) }
            let report = try evaluator.evaluate(taskList, scorer: scorer)
            results.append(RunEvaluation(directory: directory, step: checkpoint.step, width: checkpoint.config.model.width,
                                         sequenceLength: checkpoint.model.maxSequenceLength,
                                         parameters: checkpoint.summary?.parameterCount,
                                         tokens: checkpoint.summary?.tokens,
                                         validationLoss: checkpoint.summary?.recorded.last?.validationLoss,
                                         metric: metric.rawValue, accuracy: report.average[metric.rawValue]!,
                                         error: report.error(metric), report: report))
        }
        if json {
            print(try encodeJSON(EvalOutput(metric: metric.rawValue, notes: notes, runs: results)))
        } else {
            for r in results { print(table(r)) }
            if results.count > 1 { print(summaryTable(results)) }
        }
    }

    /// The positional runs, then the finished runs of --study (and the study's data, unless synthetic).
    func runDirectories() throws -> (runs: [String], studyData: String?) {
        var out = runs
        var studyData: String?
        if let study {
            let spec = try StudySpec.load(URL(fileURLWithPath: study))
            let directory = studyDir ?? "studies/\(spec.name)"
            let database = directory + "/study.sqlite"
            guard FileManager.default.fileExists(atPath: database) else {
                throw CLIError("\(database) does not exist: run the study first (`nanolm study run \(study)`) or pass --study-dir")
            }
            let finished = try StudyStore(path: database).runs(study: spec.name).filter { $0.status == .done }
            if finished.isEmpty { throw CLIError("study \(spec.name) has no finished runs yet") }
            out += finished.map(\.directory)
            studyData = spec.data == "synthetic" ? nil : spec.data
        }
        return (out, studyData)
    }

    /// The shard directory a run was trained on (its data.txt), unless synthetic.
    func trainedData(_ run: String) -> String? {
        guard let s = RunDirectory(path: run).readData() else { return nil }
        let path = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return path == "synthetic" || path.isEmpty ? nil : path
    }

    func save(_ tasks: [MultipleChoiceTask], to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for t in tasks {
            let lines = try t.items.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
            let url = directory.appendingPathComponent(t.name.replacingOccurrences(of: "/", with: "-") + ".jsonl")
            try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        }
        log("[eval] wrote \(tasks.count) task files (\(tasks.map(\.items.count).reduce(0, +)) items) to \(directory.path)")
    }

    func table(_ r: RunEvaluation) -> String {
        func cell(_ a: Accuracy) -> String { String(format: "%.3f ± %.3f", a.value, a.standardError) }
        var lines = ["== \(r.directory)" + (r.step.map { " (step \($0))" } ?? "") + (r.validationLoss.map { String(format: ", held-out loss %.4f", $0) } ?? "")]
        lines.append(pad("task", 26) + pad("items", 7) + pad("acc", 16) + pad("acc_norm", 16) + pad("acc_token", 16) + pad("acc_byte", 16) + "chance")
        for t in r.report.tasks {
            lines.append(pad(t.task, 26) + pad("\(t.items)", 7) + ChoiceMetric.allCases.map { pad(cell(t.accuracy($0)), 16) }.joined()
                         + String(format: "%.3f", t.chance))
        }
        let avg = r.report.average
        lines.append(pad("average", 26) + pad("", 7) + ChoiceMetric.allCases.map { pad(cell(avg[$0.rawValue]!), 16) }.joined()
                     + String(format: "%.3f", r.report.chance))
        lines.append(String(format: "error (1 − average %@): %.4f ± %.4f", r.metric, r.error, r.accuracy.standardError))
        let truncated = r.report.tasks.map(\.truncatedContexts).reduce(0, +)
        if truncated > 0 { lines.append("note: \(truncated) choices had their context cut from the left to the model's \(r.sequenceLength) tokens (expected when contexts are longer)") }
        return lines.joined(separator: "\n")
    }

    func summaryTable(_ results: [RunEvaluation]) -> String {
        var lines = ["== summary (\(metric.rawValue))", pad("run", 48) + pad("width", 7) + pad("params", 10) + pad("held-out", 10) + "accuracy          error"]
        for r in results {
            lines.append(pad(r.directory, 48) + pad("\(r.width)", 7) + pad(r.parameters.map { "\($0)" } ?? "-", 10)
                         + pad(r.validationLoss.map { String(format: "%.4f", $0) } ?? "-", 10)
                         + String(format: "%.4f ± %.4f   %.4f", r.accuracy.value, r.accuracy.standardError, r.error))
        }
        return lines.joined(separator: "\n")
    }
}

/// One run's evaluation, as `--json` prints it.
struct RunEvaluation: Encodable {
    var directory: String
    var step: Int?
    var width: Int
    var sequenceLength: Int
    var parameters: Int?
    var tokens: Int?
    var validationLoss: Double?
    var metric: String
    var accuracy: Accuracy
    /// 1 − the average accuracy under `metric`.
    var error: Double
    var report: EvalReport
}

struct EvalOutput: Encodable {
    var metric: String
    var notes: [String]
    var runs: [RunEvaluation]
}
