import Foundation
import XCTest
@testable import NanoLM

/// Task-file readers on hand-written fixtures (Fixtures/eval): the items lm-evaluation-harness would
/// build from the same lines, and bad lines counted with their file and line.
final class EvalReaderTests: XCTestCase {
    func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/eval/\(name)", withExtension: nil))
    }

    func testNanoLMFormatAndBadLines() throws {
        let task = try TaskFile.read(fixture("nanolm.jsonl"), format: .nanolm)
        XCTAssertEqual(task.name, "nanolm")
        XCTAssertEqual(task.items, [
            MultipleChoiceItem(context: "The capital of France is", choices: ["Paris", "Rome", "Berlin"], answer: 0),
            MultipleChoiceItem(context: "2 + 2 =", choices: ["4", "5"], answer: 0),
            MultipleChoiceItem(context: "glued", choices: ["ab", "cd"], answer: 1, separator: ""),
        ])
        XCTAssertEqual(task.skipped.map(\.line), [3, 4, 5, 6, 7])
        XCTAssertEqual(task.skipped.map(\.reason), [
            "not a JSON object",
            "answer 2 is not an index of the 2 choices",
            "field \"choices\" is not a list of strings",
            "missing field \"context\"",
            "1 choices; need 2 to 26",
        ])
        XCTAssertTrue(task.skipped[0].description.hasSuffix("nanolm.jsonl:3: not a JSON object"))
        XCTAssertEqual(task.chance, (1.0 / 3 + 0.5 + 0.5) / 3, accuracy: 1e-12)
    }

    func testStrictMakesTheFirstBadLineAnError() throws {
        XCTAssertThrowsError(try TaskFile.read(fixture("nanolm.jsonl"), format: .nanolm, strict: true)) { error in
            guard case let EvalError.badLine(file, line, reason)? = error as? EvalError else { return XCTFail("\(error)") }
            XCTAssertTrue(file.hasSuffix("nanolm.jsonl"))
            XCTAssertEqual(line, 3)
            XCTAssertEqual(reason, "not a JSON object")
        }
    }

    func testHellaSwagAsLmEvalPromptsIt() throws {
        let task = try TaskFile.read(fixture("hellaswag.jsonl"), format: .hellaswag)
        XCTAssertEqual(task.items.count, 2)
        // "activity_label: ctx_a Ctx_b" (ctx_b capitalized as Python's str.capitalize).
        XCTAssertEqual(task.items[0], MultipleChoiceItem(
            context: "Roof shingle removal: A man is sitting on a roof. He",
            choices: ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.", "is holding a rubik's cube.",
                      "starts pulling up roofing on a roof."], answer: 3))
        // WikiHow artifacts: " [title]" → ". ", other [..] dropped, double spaces collapsed; "0" as a label.
        XCTAssertEqual(task.items[1], MultipleChoiceItem(
            context: "Home and Garden: How to clean a grill. Heat the grill. Then scrub",
            choices: ["the grates with a brush.", "the car.", "a dog.", "the moon."], answer: 0))
        XCTAssertEqual(task.skipped.map(\.line), [3, 5])
        XCTAssertEqual(task.skipped.map(\.reason), ["missing field \"label\"", "answer 5 is not an index of the 4 choices"])
    }

    func testARCLettersAndNumbers() throws {
        let task = try TaskFile.read(fixture("arc.jsonl"), format: .arc)
        XCTAssertEqual(task.items.count, 2)
        XCTAssertEqual(task.items[0].context,
                       "Question: An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely effect of this increase in rotation?\nAnswer:")
        XCTAssertEqual(task.items[0].answer, 2)
        XCTAssertEqual(task.items[0].choices[2], "Planetary days will become shorter.")
        // Numeric labels match a letter key ("2" is "B").
        XCTAssertEqual(task.items[1], MultipleChoiceItem(context: "Question: Which object is a solid?\nAnswer:",
                                                         choices: ["milk", "rock", "juice"], answer: 1))
        XCTAssertEqual(task.skipped.map(\.line), [3, 4])
        XCTAssertEqual(task.skipped[0].reason, "answerKey \"E\" is none of the choice labels [\"A\", \"B\"]")
        XCTAssertEqual(task.skipped[1].reason, "field \"question\" is not an object")
    }

    func testPIQAWithItsSeparateLabelsFile() throws {
        let task = try TaskFile.read(fixture("piqa.jsonl"), format: .piqa, labels: fixture("piqa-labels.lst"))
        XCTAssertEqual(task.items.map(\.answer), [0, 1, 0])
        XCTAssertEqual(task.items[2], MultipleChoiceItem(context: "Question: Open a jar\nAnswer:", choices: ["Twist the lid.", "Sing to it."], answer: 0))
        // Without the labels file every line lacks its label, and the error says where labels live.
        XCTAssertThrowsError(try TaskFile.read(fixture("piqa.jsonl"), format: .piqa)) { error in
            XCTAssertTrue("\(error)".contains("--labels"), "\(error)")
        }
    }

    func testWrongFormatIsAnErrorThatSuggestsTheFormat() throws {
        XCTAssertThrowsError(try TaskFile.read(fixture("arc.jsonl"), format: .piqa)) { error in
            XCTAssertTrue("\(error)".contains("Is --format right?"), "\(error)")
        }
    }
}
