/// The two-line text shape shared by minisign key files:
/// `untrusted comment: ...` then one base64 line.
///
/// Key files are read leniently (CRLF, a missing final newline, trailing
/// blanks), the way minisign's own `fgets` + `trim` reads them; signatures,
/// which must have one byte form, are not.
enum KeyFileText {
    static let commentPrefix = "untrusted comment: "

    static func split(_ text: String) throws(KeyFileError) -> (comment: String, payload: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            String($0).trimmingTrailing()
        }
        while lines.last == "" { lines.removeLast() }
        guard lines.count == 2 else {
            throw KeyFileError(.notMinisignFormat("expected 2 lines (comment, key), found \(lines.count)"))
        }
        guard lines[0].hasPrefix(commentPrefix) else {
            throw KeyFileError(.notMinisignFormat("first line must start with \"untrusted comment: \""))
        }
        return (String(lines[0].dropFirst(commentPrefix.count)), lines[1])
    }
}

extension String {
    func trimmingTrailing() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s.removeLast() }
        return String(s)
    }
}
