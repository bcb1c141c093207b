/// The lines of a text file as people write them: split at every LF, the CR of a CRLF line end and a
/// UTF-8 byte-order mark at the start dropped. (Swift's `split(separator: "\n")` does not split a CRLF
/// file: "\r\n" is one Character, so such a file would read as a single line.) Line i is at index i − 1.
func textLines(_ text: String) -> [Substring] {
    var scalars = Substring(text).unicodeScalars
    if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
    return scalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        Substring(line.last == "\r" ? line.dropLast() : line)
    }
}
