import BundlecastCore

/// At most `limit` printable ASCII characters of `text`, without quotes or backslashes: how
/// a string that came from outside (a request's header, a mirror's answer) enters an error
/// line, a log or `bundlecast status`, so it can neither break the line's quoting nor carry
/// terminal escape sequences to an operator's screen. The filter is ``PrintableText``'s,
/// shared with the origin and the command line.
func printableExcerpt(_ text: some StringProtocol, limit: Int = 64) -> String {
    PrintableText.excerpt(text, limit: limit)
}
