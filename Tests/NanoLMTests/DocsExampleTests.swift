import Foundation
import XCTest
@testable import NanoLM
import Yams

/// The study files the docs show are files that load: every fenced YAML block of docs/*.md that is a whole
/// study or over-training file validates (its data directory stood in by an empty index.json), and a block
/// that shows only some fields uses fields of the file kind shown before it.
final class DocsExampleTests: XCTestCase {
    /// The ```yaml blocks of a Markdown text, in order.
    static func yamlBlocks(_ markdown: String) -> [String] {
        var blocks: [String] = [], current: [Substring]?
        for line in textLines(markdown) {
            if current == nil, line.hasPrefix("```yaml") { current = [] } else if current != nil, line.hasPrefix("```") {
                blocks.append(current!.joined(separator: "\n")); current = nil
            } else { current?.append(line) }
        }
        return blocks
    }

    func testEveryStudyExampleInTheDocsValidates() throws {
        let docs = packageRoot.appendingPathComponent("docs")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-docs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var whole = 0
        for page in try FileManager.default.contentsOfDirectory(atPath: docs.path).sorted() where page.hasSuffix(".md") {
            var kind: [String: Set<String>]?
            for (i, block) in Self.yamlBlocks(try String(contentsOf: docs.appendingPathComponent(page), encoding: .utf8)).enumerated() {
                let label = "\(page) block \(i + 1)"
                let dir = root.appendingPathComponent("\(page)-\(i)/studies")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                let url = dir.appendingPathComponent("study.yaml")
                try block.write(to: url, atomically: true, encoding: .utf8)
                if block.contains("\nname:") || block.hasPrefix("name:") {
                    // Stand-ins for the data directory the example names (relative to the file).
                    for line in textLines(block) where line.hasPrefix("data:") {
                        let path = line.dropFirst(5).split(separator: "#")[0].trimmingCharacters(in: .whitespaces)
                        let data = dir.appendingPathComponent(path)
                        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
                        try Data("{}".utf8).write(to: data.appendingPathComponent("index.json"))
                    }
                    do {
                        if block.contains("designs:") {
                            _ = try StudySpec.load(url); kind = StudySpec.allowedKeys
                        } else {
                            _ = try OverTrainingSpec.load(url); kind = OverTrainingSpec.allowedKeys
                        }
                        whole += 1
                    } catch { XCTFail("\(label): \(error.localizedDescription)") }
                } else if let kind {
                    let object = try XCTUnwrap(try Yams.load(yaml: block) as? [String: Any], label)
                    XCTAssertNoThrow(try StudySpec.checkKeys(object, allowed: kind, path: label), label)
                } else {
                    XCTFail("\(label): a partial example before any whole one")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(whole, 2)
    }
}
