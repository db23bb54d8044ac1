import BundlecastCore

/// An app's HTTP mirror (`--mirror APP=URL`): any static host laid out like the publisher's
/// `Manifests/APP/` directory with each release's tree beside its manifest:
///
/// ```
/// URL/VERSION.manifest      the manifest (Manifests/APP/VERSION.manifest)
/// URL/VERSION/PATH          each file of the bundle directory released as VERSION
/// ```
///
/// A node asks it only for what no peer offers (``MirrorPlanner``), by `Range` requests on
/// the files, and checks every byte against the signed manifest like a peer's: the mirror is
/// not trusted, only used. The version is in the path so that one mirror serves every
/// version a fleet may be between (a rollout, a withdrawal back to an older one), and a
/// node never reads one file of V+1 while fetching V.
///
/// Only the scheme, host, port and path of a base URL are kept: no user name or password
/// (a mirror holds public bytes; credentials on a command line end up in `ps` and logs), no
/// query or fragment (paths are appended to it).
public struct ReleaseMirror: Sendable, Hashable, CustomStringConvertible {
    /// The base, ending in `/`.
    public let base: String

    /// The longest base URL taken.
    public static let maxLength = 2048

    public init(url text: String) throws(MirrorURLError) {
        func refuse(_ why: String) -> MirrorURLError { MirrorURLError(url: text, reason: why) }
        guard !text.isEmpty, text.utf8.count <= Self.maxLength else { throw refuse("is empty or longer than \(Self.maxLength) bytes") }
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw refuse("has a space, a control or a non-ASCII character (percent-encode the path, punycode the host)")
        }
        guard let colon = text.firstIndex(of: ":") else { throw refuse("is not an http:// or https:// URL") }
        let scheme = text[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { throw refuse("is not an http:// or https:// URL") }
        let rest = text[text.index(after: colon)...]
        guard rest.hasPrefix("//") else { throw refuse("is not an http:// or https:// URL") }
        let afterSlashes = rest.dropFirst(2)
        let authorityEnd = afterSlashes.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterSlashes.endIndex
        let authority = afterSlashes[..<authorityEnd]
        var path = afterSlashes[authorityEnd...]
        guard !authority.contains("@") else {
            throw refuse("carries a user name or password: a mirror holds public bytes, and a command line is no place for secrets")
        }
        guard !path.contains("?"), !path.contains("#") else { throw refuse("has a query or a fragment: a mirror is a directory URL") }
        let (host, port) = try Self.split(authority, refuse)
        guard !host.isEmpty else { throw refuse("has no host") }
        if let port, !(1...65535).contains(port) { throw refuse("has port \(port), not 1-65535") }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard !segments.contains(where: { $0 == "." || $0 == ".." || $0.lowercased().contains("%2f") }) else {
            throw refuse("has a '.', '..' or encoded '/' segment in its path")
        }
        guard Self.validEscapes(path) else { throw refuse("has a '%' that is not followed by two hex digits") }
        if !path.hasSuffix("/") { path += "/" }
        let hostPart = host.contains(":") ? "[\(host)]" : String(host)
        base = "\(scheme)://\(hostPart.lowercased())\(port.map { ":\($0)" } ?? "")\(path)"
    }

    public var description: String { base }

    /// Where the manifest of `version` is.
    public func manifestURL(version: String) -> String {
        base + Self.escape(version + ".manifest")
    }

    /// Where the file `path` (a manifest path: relative, `/`-separated, validated) of
    /// `version` is: each segment percent-encoded, so no byte of a path changes the URL's shape.
    /// Segments are cut at the byte `/` (``BundlePath/segments(_:)``), as the manifest and the
    /// kernel cut them: cut by `Character`, a `/` followed by a combining mark is no cut, and
    /// would go out as `%2F` inside one segment.
    public func fileURL(version: String, path: String) -> String {
        base + Self.escape(version) + "/" + BundlePath.segments(path).map { Self.escape($0) }.joined(separator: "/")
    }

    /// Percent-encodes every byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`).
    public static func escape(_ segment: some StringProtocol) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(segment.utf8.count)
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Host and port of an authority (`host`, `host:port`, `[v6]`, `[v6]:port`).
    private static func split(_ authority: Substring, _ refuse: (String) -> MirrorURLError) throws(MirrorURLError) -> (Substring, Int?) {
        var host = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw refuse("has an unclosed '[' in its host") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw refuse("has something after its ']' that is not a port") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
            guard !portText!.contains(":") else { throw refuse("has an IPv6 host without [ ]") }
        }
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" }) else {
            throw refuse("has a host with characters a host name cannot have")
        }
        guard let portText else { return (host, nil) }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCIIDigit), let port = Int(portText) else {
            throw refuse("has a port that is not a number")
        }
        return (host, port)
    }

    private static func validEscapes(_ path: Substring) -> Bool {
        let bytes = Array(path.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, isHex(bytes[i + 1]), isHex(bytes[i + 2]) else { return false }
                i += 3
            } else {
                i += 1
            }
        }
        return true
    }

    private static func isHex(_ b: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(b)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(b)
    }
}

/// A `--mirror` URL that cannot be used, and why: one line.
public struct MirrorURLError: Error, CustomStringConvertible, Equatable {
    public let url: String
    public let reason: String
    public var description: String { "mirror \"\(url)\" \(reason)" }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
