import Foundation

/// Reads the points of a fit from CSV (RFC 4180: a header row naming the columns, quoted fields, CRLF or LF,
/// an optional UTF-8 byte-order mark; `#` lines are comments) or JSON (an array of objects), keeping the
/// named columns and ignoring the rest. Sizes (params, N, D) may carry a k/M/B/T suffix ("125m", "2.8B").
/// JSON values must be numbers (`true` and "1.9" are not), except sizes with a suffix. Every bad cell is an
/// error naming file, line and column; nothing is skipped silently.
public enum PointsFile {
    /// Columns that hold sizes, where a suffix is accepted.
    public static let sizeColumns: Set<String> = ["params", "N", "D"]

    public static func read(_ url: URL, columns: [String]) throws -> [[Double]] {
        let name = url.path
        guard var data = FileManager.default.contents(atPath: url.path) else {
            throw ScalingLawError.badInput(file: name, line: 0, column: "-", reason: "cannot read the file")
        }
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScalingLawError.badInput(file: name, line: 0, column: "-", reason: "not UTF-8 text: save it as UTF-8 CSV or JSON")
        }
        let (headerLine, rows) = text.first(where: { !$0.isWhitespace }) == "["
            ? try jsonRows(Data(data), text: text, file: name) : try csvRows(text, file: name)
        guard let first = rows.first else { throw ScalingLawError.badInput(file: name, line: headerLine, column: "-", reason: "no data rows") }
        for c in columns where first.cells[c] == nil {
            throw ScalingLawError.badInput(file: name, line: headerLine, column: c,
                                           reason: "missing column (found: \(first.cells.keys.sorted().joined(separator: ", ")))")
        }
        return try rows.map { row in
            try columns.map { c in
                guard let cell = row.cells[c] else { throw ScalingLawError.badInput(file: name, line: row.line, column: c, reason: "missing") }
                let v: Double
                switch cell {
                case let .number(x): v = x
                case let .text(s, quoted):
                    if let x = number(s, size: sizeColumns.contains(c)), !quoted || x.suffixed { v = x.value } else {
                        throw ScalingLawError.badInput(file: name, line: row.line, column: c, reason: quoted
                            ? "\"\(s)\" is a string: write the number without quotes"
                            : "'\(s)' is not a number\(sizeColumns.contains(c) ? " (sizes may end in k, M, B or T)" : "")")
                    }
                case let .other(what):
                    throw ScalingLawError.badInput(file: name, line: row.line, column: c, reason: "\(what) is not a number")
                }
                guard v.isFinite, v > 0 else { throw ScalingLawError.badInput(file: name, line: row.line, column: c, reason: "\(v) must be finite and positive") }
                return v
            }
        }
    }

    /// A cell as read: a JSON number, text (CSV, or a JSON string: `quoted`), or another JSON value.
    enum Cell { case number(Double), text(String, quoted: Bool), other(String) }
    typealias Row = (line: Int, cells: [String: Cell])

    /// A number, with a k/M/B/T suffix for sizes: 125m = 1.25e8, 2.8B = 2.8e9.
    static func number(_ s: String, size: Bool) -> (value: Double, suffixed: Bool)? {
        if let v = Double(s) { return (v, false) }
        let scale: [Character: Double] = ["k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "b": 1e9, "B": 1e9, "G": 1e9, "t": 1e12, "T": 1e12]
        guard size, let last = s.last, let f = scale[last], let v = Double(s.dropLast()), v.isFinite else { return nil }
        return (v * f, true)
    }

    /// RFC 4180 records with the line each starts on, after the header and its line.
    static func csvRows(_ text: String, file: String) throws -> (headerLine: Int, rows: [Row]) {
        var records: [(line: Int, cells: [(String, quoted: Bool)])] = []
        var cells: [(String, quoted: Bool)] = [], cell = "", quoted = false, inQuotes = false, afterQuote = false
        var line = 1, recordLine = 1, quoteLine = 1, comment = false
        func endCell() {
            cells.append((quoted ? cell : cell.trimmingCharacters(in: .whitespaces), quoted))
            cell = ""; quoted = false; afterQuote = false
        }
        func endRecord() {
            endCell()
            if !comment && !(cells.count == 1 && cells[0].0.isEmpty && !cells[0].quoted) { records.append((recordLine, cells)) }
            cells = []; comment = false
        }
        var chars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        while let ch = pending ?? chars.next() {
            pending = nil
            if comment && ch != "\r" && ch != "\n" { continue }
            if inQuotes {
                if ch == "\"" {
                    let next = chars.next()
                    if next == "\"" { cell.unicodeScalars.append("\"") } else { inQuotes = false; afterQuote = true; pending = next }
                } else {
                    if ch == "\n" { line += 1 }
                    cell.unicodeScalars.append(ch)
                }
                continue
            }
            switch ch {
            case "\"" where cell.trimmingCharacters(in: .whitespaces).isEmpty && !afterQuote:
                cell = ""; inQuotes = true; quoted = true; quoteLine = line
            case ",": endCell()
            case "\r", "\n":
                if ch == "\r" { let next = chars.next(); if next != "\n" { pending = next } }
                endRecord(); line += 1; recordLine = line
            case "#" where cells.isEmpty && cell.isEmpty && !quoted: comment = true
            default:
                if afterQuote && ch != " " && ch != "\t" {
                    throw ScalingLawError.badInput(file: file, line: line, column: "-", reason: "text after a closing quote: double a quote inside a quoted field (\"\")")
                }
                if !afterQuote { cell.unicodeScalars.append(ch) }
            }
        }
        if inQuotes { throw ScalingLawError.badInput(file: file, line: quoteLine, column: "-", reason: "a quoted field is never closed") }
        endRecord()
        guard let header = records.first else { throw ScalingLawError.badInput(file: file, line: 1, column: "-", reason: "empty file") }
        let names = header.cells.map(\.0)
        if let twice = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
            throw ScalingLawError.badInput(file: file, line: header.line, column: twice, reason: "the column appears twice in the header")
        }
        return (header.line, try records.dropFirst().map { r in
            guard r.cells.count == names.count else {
                throw ScalingLawError.badInput(file: file, line: r.line, column: "-", reason: "\(r.cells.count) cells, the header has \(names.count)")
            }
            return (r.line, Dictionary(uniqueKeysWithValues: zip(names, r.cells.map { Cell.text($0.0, quoted: $0.quoted) })))
        })
    }

    /// A JSON array of objects, each with the line its `{` is on (the first's is the header line).
    static func jsonRows(_ data: Data, text: String, file: String) throws -> (headerLine: Int, rows: [Row]) {
        let objects: [[String: JSONCell]]
        do { objects = try JSONDecoder().decode([[String: JSONCell]].self, from: data) } catch {
            throw ScalingLawError.badInput(file: file, line: 1, column: "-", reason: "expected a JSON array of objects (\(jsonProblem(error)))")
        }
        let lines = objectLines(text)
        return (lines.first ?? 1, objects.enumerated().map { i, object in (i < lines.count ? lines[i] : 1, object.mapValues(\.cell)) })
    }

    /// The line of each `{` at depth 1 (the array's objects), outside strings.
    static func objectLines(_ text: String) -> [Int] {
        var lines: [Int] = [], line = 1, depth = 0, inString = false, escaped = false
        for ch in text.unicodeScalars {
            if ch == "\n" { line += 1 }
            if inString {
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
                continue
            }
            switch ch {
            case "\"": inString = true
            case "[", "{": if ch == "{" && depth == 1 { lines.append(line) }; depth += 1
            case "]", "}": depth -= 1
            default: break
            }
        }
        return lines
    }

    static func jsonProblem(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return error.localizedDescription }
        switch e {
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .keyNotFound(_, c), let .dataCorrupted(c):
            let path = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return (path.isEmpty ? "" : "at \(path): ") + c.debugDescription
        @unknown default: return "\(e)"
        }
    }
}

/// One JSON value of a points file, typed strictly: a number is a number, not `true` or "1.9".
struct JSONCell: Decodable {
    var cell: PointsFile.Cell
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { cell = .other("null") }
        else if let b = try? c.decode(Bool.self) { cell = .other("\(b)") }
        else if let v = try? c.decode(Double.self) { cell = .number(v) }
        else if let s = try? c.decode(String.self) { cell = .text(s, quoted: true) }
        else { cell = .other("an array or object") }
    }
}
