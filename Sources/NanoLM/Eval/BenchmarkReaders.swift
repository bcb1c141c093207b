import Foundation

// Readers for benchmark files as their authors distribute them, turned into items the way
// lm-evaluation-harness prompts them (its hellaswag, arc_easy/arc_challenge and piqa tasks).

extension TaskFile {
    /// HellaSwag (rowanz/hellaswag data/*.jsonl): context "activity_label: ctx_a Ctx_b" cleaned of WikiHow
    /// bracket artifacts, the four endings, `label`. Lines with only `ctx` use it as is.
    static func hellaSwag(_ f: JSONFields) throws -> MultipleChoiceItem {
        let context: String
        if let a = try f.optionalString("ctx_a"), let b = try f.optionalString("ctx_b") {
            context = a + " " + pythonCapitalize(b)
        } else {
            context = try f.string("ctx")
        }
        let label = try f.optionalString("activity_label")
        let query = hellaSwagClean(label.map { $0 + ": " + context } ?? context)
        return MultipleChoiceItem(context: query, choices: try f.strings("endings").map(hellaSwagClean), answer: try f.int("label"))
    }

    /// ARC (ARC-V1-Feb2018 *.jsonl): "Question: stem\nAnswer:", the choices' texts, the choice whose
    /// label is `answerKey` (labels "A"… or "1"…, matched either way).
    static func arc(_ f: JSONFields) throws -> MultipleChoiceItem {
        let question = try f.object("question")
        let stem = try question.string("stem")
        guard let list = question.object["choices"] as? [[String: Any]] else {
            throw LineError("field \"question.choices\" is not a list of objects")
        }
        let choices = list.map { JSONFields($0) }
        let texts = try choices.map { try $0.string("text") }
        let labels = try choices.map { try $0.string("label") }
        let key = try f.string("answerKey")
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ").map(String.init)
        func normalized(_ s: String) -> String { Int(s).flatMap { (1 ... 26).contains($0) ? letters[$0 - 1] : nil } ?? s }
        guard let answer = labels.firstIndex(where: { normalized($0) == normalized(key) }) else {
            throw LineError("answerKey \"\(key)\" is none of the choice labels \(labels)")
        }
        return MultipleChoiceItem(context: "Question: \(stem)\nAnswer:", choices: texts, answer: answer)
    }

    /// PIQA (ybisk/piqa *.jsonl): "Question: goal\nAnswer:", sol1 and sol2, `label` (from the line or
    /// the separate labels file).
    static func piqa(_ f: JSONFields) throws -> MultipleChoiceItem {
        guard f.object["label"] != nil else {
            throw LineError("no label: PIQA keeps labels in a separate file (pass it with --labels, e.g. valid-labels.lst)")
        }
        return MultipleChoiceItem(context: "Question: \(try f.string("goal"))\nAnswer:",
                                  choices: [try f.string("sol1"), try f.string("sol2")], answer: try f.int("label"))
    }
}

/// lm-evaluation-harness's HellaSwag `preprocess`: strip, " [title]" → ". ", drop "[…]", collapse "  ".
func hellaSwagClean(_ text: String) -> String {
    var s = text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: " [title]", with: ". ")
    while let open = s.range(of: "["), let close = s.range(of: "]", range: open.upperBound ..< s.endIndex) {
        s.removeSubrange(open.lowerBound ..< close.upperBound)
    }
    return s.replacingOccurrences(of: "  ", with: " ")
}

/// Python's str.capitalize(): the first character upper-cased, the rest lower-cased.
func pythonCapitalize(_ s: String) -> String {
    guard let first = s.first else { return s }
    return first.uppercased() + s.dropFirst().lowercased()
}
