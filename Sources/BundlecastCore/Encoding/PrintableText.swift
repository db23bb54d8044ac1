/// Text that came from outside (a peer's metadata, a server's answer, a request's header) as it
/// may reach an operator's terminal or a log line: the one filter the node, the origin, the
/// publisher and `bundlecast status` share.
///
/// A terminal acts on some characters instead of showing them: ESC and the C1 controls begin
/// sequences that move the cursor, rewrite the screen or write the clipboard (`ESC ] 52`), a
/// carriage return or a newline overwrites or forges a line, and Unicode's bidirectional
/// controls reorder what follows them. None of them may pass as it came.
public enum PrintableText {
    /// Whether a terminal may act on `scalar` rather than show it: a C0 control, DEL, a C1
    /// control, or a bidirectional mark, embedding, override or isolate.
    public static func steersTerminal(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// Whether `text` holds a scalar that ``steersTerminal(_:)``.
    public static func holdsControls(_ text: some StringProtocol) -> Bool {
        text.unicodeScalars.contains { steersTerminal($0) }
    }

    /// `text` with each scalar that ``steersTerminal(_:)`` written as a visible escape of its
    /// value (`\u{1B}`), so that what is read is what was sent; the rest (other Unicode
    /// included) is kept. With `limit`, at most that many scalars of `text` are looked at (an
    /// escape counts as one) and a cut ends in `…`: text from outside may be as long as its
    /// sender likes.
    public static func escaped(_ text: some StringProtocol, limit: Int = .max) -> String {
        var out = ""
        var kept = 0
        for scalar in text.unicodeScalars {
            if kept >= limit {
                out += "…"
                break
            }
            if steersTerminal(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            kept += 1
        }
        return out
    }

    /// At most `limit` printable ASCII characters of `text`, without quotes or backslashes
    /// (everything else is left out): for text quoted inside an error line, which it can
    /// then neither break out of nor fill.
    public static func excerpt(_ text: some StringProtocol, limit: Int = 64) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.lazy.filter { $0.value >= 0x20 && $0.value < 0x7f && $0 != "\"" && $0 != "\\" }.prefix(limit)))
    }
}
