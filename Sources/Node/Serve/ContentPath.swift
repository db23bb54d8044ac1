/// A request target split into decoded path segments and its query.
///
/// Each segment is percent-decoded on its own, so `%2F` can never make a new segment; a
/// segment that decodes to `.`, `..`, or holds `/`, NUL or bytes that are not UTF-8 is
/// refused, which also refuses `%2e%2e`. Browsers resolve dot segments before they send.
struct ContentPath: Equatable {
    var segments: [String]
    /// Whether the path ended with `/` (a directory's index is asked for).
    var trailingSlash: Bool
    /// The query, without `?` (kept on redirects; nil: none).
    var query: String?

    enum Refusal: Error, Equatable, CustomStringConvertible {
        case notAbsolute
        case badEscape
        case refusedSegment(String)

        var description: String {
            switch self {
            case .notAbsolute: "the request target is not an absolute path"
            case .badEscape: "the path has a malformed percent escape or is not UTF-8"
            case .refusedSegment(let s): "path segment \(s) is refused"
            }
        }
    }

    /// Longest request target taken (the HTTP parser limits the whole head as well).
    static let maxLength = 8192

    static func parse(_ target: String) throws(Refusal) -> ContentPath {
        guard target.utf8.count <= maxLength, target.hasPrefix("/") else { throw .notAbsolute }
        let (path, query) = target.firstIndex(of: "?").map { (target[..<$0], String(target[target.index(after: $0)...])) } ?? (Substring(target), nil)
        let raw = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        var segments: [String] = []
        for (i, part) in raw.enumerated() {
            if part.isEmpty {
                // Only the last may be empty (a trailing slash); `a//b` names nothing.
                guard i == raw.count - 1 else { throw .refusedSegment("(empty)") }
                continue
            }
            let decoded = try decode(part)
            guard decoded != ".", decoded != "..", !decoded.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == 0 }) else {
                throw .refusedSegment(decoded == "." || decoded == ".." ? decoded : "with / or NUL")
            }
            segments.append(decoded)
        }
        return ContentPath(segments: segments, trailingSlash: path.hasSuffix("/") && !segments.isEmpty || path == "/", query: query)
    }

    static func decode(_ text: Substring) throws(Refusal) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var it = text.utf8.makeIterator()
        while let b = it.next() {
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            guard let h = it.next().flatMap(hexValue), let l = it.next().flatMap(hexValue) else { throw .badEscape }
            bytes.append(h << 4 | l)
        }
        guard let string = String(validating: bytes, as: UTF8.self) else { throw .badEscape }
        return string
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    /// Percent-encodes one segment for a `Location` header (unreserved characters stay).
    static func encode(_ segment: String) -> String {
        var out = ""
        for b in segment.utf8 {
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded
            }
        }
        return out
    }
}

private extension String {
    var leftPadded: String { count == 1 ? "0" + self : self }
}
