import Foundation

/// Progress a person can watch, on standard error: on a terminal one line redrawn in place with a bar;
/// otherwise (a log file, CI) a plain line each time a run passes another tenth of its steps.
public final class ProgressLine {
    let isTerminal: Bool
    let write: (String) -> Void
    var lastDecile: [String: Int] = [:]
    var drawn = false

    public init(isTerminal: Bool = isatty(STDERR_FILENO) != 0,
                write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.isTerminal = isTerminal
        self.write = write
    }

    /// Shows `text` for the run named `key` at `fraction` (0…1) of its steps.
    public func update(_ text: String, fraction: Double, key: String = "") {
        let f = min(max(fraction.isFinite ? fraction : 0, 0), 1)
        if isTerminal {
            let width = 24, filled = Int(Double(width) * f)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            write("\r\(bar) \(text)\u{1B}[K")
            drawn = true
        } else {
            let decile = Int(10 * f)
            if decile != lastDecile[key] {
                lastDecile[key] = decile
                write(text + "\n")
            }
        }
    }

    /// Erases the line on a terminal, so that other output starts on a clean line.
    public func clear() {
        if isTerminal && drawn { write("\r\u{1B}[K"); drawn = false }
    }

    /// Ends the line on a terminal, leaving the last state visible.
    public func finish() {
        if isTerminal && drawn { write("\n"); drawn = false }
    }
}
