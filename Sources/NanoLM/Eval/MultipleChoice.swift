import Foundation

/// One multiple-choice question: a context, its candidate continuations, and which one is right.
///
/// A choice is scored as the text `separator + choice` following `context` (lm-evaluation-harness's
/// target delimiter, " " by default); length normalisation counts the choice alone.
public struct MultipleChoiceItem: Codable, Equatable, Sendable {
    public var context: String
    public var choices: [String]
    /// Index into `choices` of the right answer.
    public var answer: Int
    public var separator: String

    public init(context: String, choices: [String], answer: Int, separator: String = " ") {
        self.context = context
        self.choices = choices
        self.answer = answer
        self.separator = separator
    }

    /// The text a few-shot prompt shows for this item: the context and its right answer.
    public var solved: String { context + separator + choices[answer] }
}

/// A named set of items (one benchmark file, or one generated task for one domain).
public struct MultipleChoiceTask: Sendable {
    public var name: String
    public var items: [MultipleChoiceItem]
    /// Lines that could not be read (when the task came from a file).
    public var skipped: [SkippedLine] = []

    public init(name: String, items: [MultipleChoiceItem], skipped: [SkippedLine] = []) {
        self.name = name
        self.items = items
        self.skipped = skipped
    }

    /// Chance accuracy: the mean of 1/k over the items.
    public var chance: Double {
        items.isEmpty ? 0 : items.map { 1 / Double($0.choices.count) }.reduce(0, +) / Double(items.count)
    }
}

/// A line of a task file that was left out, and why.
public struct SkippedLine: Codable, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String
    public var description: String { "\(file):\(line): \(reason)" }
}

/// The layouts of task files `TaskFile.read` understands.
public enum TaskFormat: String, CaseIterable, Sendable {
    /// {"context": …, "choices": […], "answer": i, "separator"?: " "} per line.
    case nanolm
    /// HellaSwag as distributed: {"ctx" (or "ctx_a"/"ctx_b"), "activity_label"?, "endings": [4], "label": i}.
    case hellaswag
    /// ARC as distributed: {"question": {"stem", "choices": [{"text", "label"}]}, "answerKey"}.
    case arc
    /// PIQA as distributed: {"goal", "sol1", "sol2", "label"?}, labels optionally in a separate file.
    case piqa
}

/// Reads multiple-choice tasks from JSONL files.
public enum TaskFile {
    /// Reads `url` as `format`. Lines that do not parse are skipped and listed in the task's `skipped`
    /// (with `strict`, the first one throws instead). `labels`: PIQA's separate labels file (one 0/1 per
    /// line, line i labelling item i), when the items have no `label` field.
    public static func read(_ url: URL, format: TaskFormat, labels: URL? = nil, strict: Bool = false,
                            name: String? = nil) throws -> MultipleChoiceTask {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw EvalError.taskFile(url.path, "cannot read: \(error.localizedDescription)")
        }
        let labelList = try labels.map { try readLabels($0) }
        var items: [MultipleChoiceItem] = []
        var skipped: [SkippedLine] = []
        var record = 0   // index of this record among the file's non-empty lines (for the labels file)
        for (i, raw) in textLines(text).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty else { continue }
            defer { record += 1 }
            do {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw LineError("not a JSON object")
                }
                var fields = JSONFields(object)
                if let labelList, fields.object["label"] == nil {
                    guard record < labelList.count else {
                        throw LineError("no label: \(labels!.lastPathComponent) has only \(labelList.count) lines")
                    }
                    fields.object["label"] = labelList[record]
                }
                let item = try decode(fields, format: format)
                guard (2 ... 26).contains(item.choices.count) else { throw LineError("\(item.choices.count) choices; need 2 to 26") }
                guard item.choices.indices.contains(item.answer) else {
                    throw LineError("answer \(item.answer) is not an index of the \(item.choices.count) choices")
                }
                items.append(item)
            } catch let error as LineError {
                if strict { throw EvalError.badLine(file: url.path, line: i + 1, reason: error.reason) }
                skipped.append(SkippedLine(file: url.path, line: i + 1, reason: error.reason))
            }
        }
        guard !items.isEmpty else {
            throw EvalError.taskFile(url.path, "no readable \(format.rawValue) items"
                                     + (skipped.first.map { " (\(skipped.count) bad lines; first: line \($0.line): \($0.reason))" } ?? " (empty file)")
                                     + ". Is --format right?")
        }
        return MultipleChoiceTask(name: name ?? url.deletingPathExtension().lastPathComponent, items: items, skipped: skipped)
    }

    static func decode(_ f: JSONFields, format: TaskFormat) throws -> MultipleChoiceItem {
        switch format {
        case .nanolm:
            return MultipleChoiceItem(context: try f.string("context"), choices: try f.strings("choices"),
                                      answer: try f.int("answer"), separator: try f.optionalString("separator") ?? " ")
        case .hellaswag: return try hellaSwag(f)
        case .arc: return try arc(f)
        case .piqa: return try piqa(f)
        }
    }

    static func readLabels(_ url: URL) throws -> [Any] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw EvalError.taskFile(url.path, "cannot read the labels file")
        }
        return try textLines(text).enumerated().compactMap { i, raw in
            let s = raw.trimmingCharacters(in: .whitespaces)
            guard !s.isEmpty else { return nil }
            guard let v = Int(s) else { throw EvalError.badLine(file: url.path, line: i + 1, reason: "'\(s)' is not an integer label") }
            return v
        }
    }
}

/// Why one line could not be read (becomes a ``SkippedLine`` or, strictly, an ``EvalError/badLine``).
struct LineError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Typed access to one JSON object's fields, with errors that name the field.
struct JSONFields {
    var object: [String: Any]
    init(_ object: [String: Any]) { self.object = object }

    func string(_ key: String) throws -> String {
        guard let v = object[key] else { throw LineError("missing field \"\(key)\"") }
        guard let s = v as? String else { throw LineError("field \"\(key)\" is not a string") }
        return s
    }
    func optionalString(_ key: String) throws -> String? { object[key] == nil ? nil : try string(key) }
    func strings(_ key: String) throws -> [String] {
        guard let v = object[key] else { throw LineError("missing field \"\(key)\"") }
        guard let a = v as? [Any], let s = a as? [String] else { throw LineError("field \"\(key)\" is not a list of strings") }
        return s
    }
    /// An integer, also when written as a string ("2") as some distributions do.
    func int(_ key: String) throws -> Int {
        guard let v = object[key] else { throw LineError("missing field \"\(key)\"") }
        if let i = v as? Int { return i }
        if let d = v as? Double, let i = Int(exactly: d) { return i }
        if let s = v as? String, let i = Int(s.trimmingCharacters(in: .whitespaces)) { return i }
        throw LineError("field \"\(key)\" is not an integer")
    }
    func object(_ key: String) throws -> JSONFields {
        guard let v = object[key] else { throw LineError("missing field \"\(key)\"") }
        guard let o = v as? [String: Any] else { throw LineError("field \"\(key)\" is not an object") }
        return JSONFields(o)
    }
}
