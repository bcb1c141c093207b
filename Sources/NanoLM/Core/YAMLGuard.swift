import CYaml

/// Reads YAML text as libyaml's event stream (no tree, no recursion) and rejects what nanolm's files never
/// need and Yams cannot take safely, before Yams composes anything:
/// - aliases (`*name`): a few lines of nested aliases expand to gigabytes ("billion laughs");
/// - keys that are not plain values (`? [a, b]: 1`, `{[a]: 1}`): they reach a force unwrap inside Yams;
/// - nesting deeper than ``maximumDepth`` (Yams composes recursively) and more than ``maximumNodes`` nodes.
/// Syntax errors are left to Yams, whose messages show the line.
enum YAMLGuard {
    static let maximumDepth = 64
    static let maximumNodes = 1_000_000

    /// Why the text was refused, with its 1-based line.
    struct Rejection: Error, CustomStringConvertible {
        let line: Int
        let reason: String
        var description: String { "line \(line): \(reason)" }
    }

    /// Throws a ``Rejection`` for the first alias, complex key, too deep or too large document.
    static func check(_ text: String) throws {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        try bytes.withUnsafeMutableBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            // One entry per open collection: for a mapping, whether its next node is a key.
            var open: [(isMapping: Bool, expectsKey: Bool)] = []
            var nodes = 0
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return }   // Yams reports syntax errors
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                let type = event.type
                if type == YAML_STREAM_END_EVENT { return }
                if type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT { _ = open.popLast(); continue }
                guard type == YAML_ALIAS_EVENT || type == YAML_SCALAR_EVENT || type == YAML_SEQUENCE_START_EVENT
                        || type == YAML_MAPPING_START_EVENT else { continue }
                if type == YAML_ALIAS_EVENT {
                    throw Rejection(line: line, reason: "aliases (*name) are not supported: write the value out")
                }
                nodes += 1
                if nodes > maximumNodes { throw Rejection(line: line, reason: "more than \(maximumNodes) values") }
                if let top = open.last, top.isMapping {
                    if top.expectsKey && type != YAML_SCALAR_EVENT {
                        throw Rejection(line: line, reason: "a key must be a plain name, not a list or mapping (complex keys are not supported)")
                    }
                    open[open.count - 1].expectsKey.toggle()
                }
                if type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT {
                    open.append((type == YAML_MAPPING_START_EVENT, true))
                    if open.count > maximumDepth {
                        throw Rejection(line: line, reason: "nested more than \(maximumDepth) levels deep")
                    }
                }
            }
        }
    }
}
