import BundlecastCore
import Testing

/// The one filter for text from outside on its way to a terminal or a log: every control a
/// terminal acts on is shown as an escape, everything else is kept, and a cut is marked.
@Suite struct PrintableTextTests {
    @Test func controlsAreEscapedVisiblyAndTheRestIsKept() {
        #expect(PrintableText.escaped("a\u{1B}[2Jb") == "a\\u{1B}[2Jb")
        #expect(PrintableText.escaped("\r\n\t\u{0}\u{7F}\u{85}\u{9B}\u{9D}") == "\\u{D}\\u{A}\\u{9}\\u{0}\\u{7F}\\u{85}\\u{9B}\\u{9D}")
        #expect(PrintableText.escaped("\u{202E}\u{202A}\u{2066}\u{2069}\u{200E}\u{200F}\u{61C}")
                == "\\u{202E}\\u{202A}\\u{2066}\\u{2069}\\u{200E}\\u{200F}\\u{61C}")
        #expect(PrintableText.escaped("zürich █░ ↓ 1.0.0-rc.1+b.5 \"q\" \\") == "zürich █░ ↓ 1.0.0-rc.1+b.5 \"q\" \\")
    }

    @Test func aCutIsMarked() {
        #expect(PrintableText.escaped(String(repeating: "a", count: 10), limit: 4) == "aaaa…")
        #expect(PrintableText.escaped("aaaa", limit: 4) == "aaaa")
        #expect(PrintableText.escaped("\u{1B}\u{1B}\u{1B}", limit: 2) == "\\u{1B}\\u{1B}…")
    }

    @Test func controlsAreFound() {
        #expect(PrintableText.holdsControls("1.0.0\u{1B}"))
        #expect(PrintableText.holdsControls("a\u{202E}b"))
        #expect(PrintableText.holdsControls("a\u{9B}b"))
        #expect(!PrintableText.holdsControls("zürich-1 █"))
    }

    /// The excerpt for quoted error lines keeps printable ASCII only, without quotes or backslashes.
    @Test func anExcerptIsPrintableASCIIAndShort() {
        #expect(PrintableText.excerpt("\u{1B}]52;c;\"x\"\\\u{7}zürich") == "]52;c;xzrich")
        #expect(PrintableText.excerpt(String(repeating: "9", count: 500)).count == 64)
    }
}
