import Foundation

/// Reads the points of a fit from CSV (a header row naming the columns) or JSON (an array of objects),
/// keeping the named columns and ignoring the rest. Every bad cell is an error naming file, line and
/// column; nothing is skipped silently.
public enum PointsFile {
    public static func read(_ url: URL, columns: [String]) throws -> [[Double]] {
        let name = url.path
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ScalingLawError.badInput(file: name, line: 0, column: "-", reason: "cannot read the file")
        }
        let text = String(decoding: data, as: UTF8.self)
        let rows: [(line: Int, cells: [String: String])]
        if text.drop(while: { $0.isWhitespace }).first == "[" {
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                throw ScalingLawError.badInput(file: name, line: 1, column: "-", reason: "expected a JSON array of objects")
            }
            rows = array.enumerated().map { i, object in
                (i + 1, object.mapValues { value in (value as? NSNumber).map { "\($0.doubleValue)" } ?? "\(value)" })
            }
        } else {
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                .map { (i: $0.offset + 1, s: $0.element.trimmingCharacters(in: .whitespaces)) }
                .filter { !$0.s.isEmpty && !$0.s.hasPrefix("#") }
            guard !lines.isEmpty else { throw ScalingLawError.badInput(file: name, line: 1, column: "-", reason: "empty file") }
            let header = lines.removeFirst().s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            rows = try lines.map { line in
                let cells = line.s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard cells.count == header.count else {
                    throw ScalingLawError.badInput(file: name, line: line.i, column: "-", reason: "\(cells.count) cells, the header has \(header.count)")
                }
                return (line.i, Dictionary(zip(header, cells), uniquingKeysWith: { a, _ in a }))
            }
        }
        guard let first = rows.first else { throw ScalingLawError.badInput(file: name, line: 1, column: "-", reason: "no data rows") }
        for c in columns where first.cells[c] == nil {
            throw ScalingLawError.badInput(file: name, line: 1, column: c, reason: "missing column (found: \(first.cells.keys.sorted().joined(separator: ", ")))")
        }
        return try rows.map { row in
            try columns.map { c in
                guard let cell = row.cells[c] else { throw ScalingLawError.badInput(file: name, line: row.line, column: c, reason: "missing") }
                guard let v = Double(cell) else { throw ScalingLawError.badInput(file: name, line: row.line, column: c, reason: "'\(cell)' is not a number") }
                guard v.isFinite, v > 0 else { throw ScalingLawError.badInput(file: name, line: row.line, column: c, reason: "\(cell) must be finite and positive") }
                return v
            }
        }
    }
}
