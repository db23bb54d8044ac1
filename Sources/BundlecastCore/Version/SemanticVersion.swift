/// A Semantic Versioning 2.0.0 version, parsed strictly and ordered by the
/// spec's precedence rules (build metadata ignored).
public struct SemanticVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let major: UInt64
    public let minor: UInt64
    public let patch: UInt64
    public let prerelease: [String]
    public let build: [String]

    /// The text as given (it is canonical: parsing refuses any other form).
    public let description: String

    public init(_ text: String) throws(NameError) {
        func fail(_ why: String) -> NameError { NameError(what: "version", value: text, problem: why) }
        guard text.utf8.count <= 128 else { throw fail("is longer than 128 characters (SemVer 2.0, e.g. 1.4.2)") }
        var rest = Substring(text)
        var build: [String] = []
        if let plus = rest.firstIndex(of: "+") {
            build = rest[rest.index(after: plus)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            rest = rest[..<plus]
            guard build.allSatisfy({ !$0.isEmpty && Self.isIdentifier($0) }) else {
                throw fail("has invalid build metadata (SemVer 2.0, e.g. 1.4.2+build.5)")
            }
        }
        var pre: [String] = []
        if let dash = rest.firstIndex(of: "-") {
            pre = rest[rest.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            rest = rest[..<dash]
            for id in pre {
                guard !id.isEmpty, Self.isIdentifier(id) else {
                    throw fail("has an invalid pre-release identifier (SemVer 2.0, e.g. 1.4.2-rc.1)")
                }
                if id.allSatisfy(\.isASCIIDigit), DecimalNumber.parse(id) == nil {
                    throw fail("has a numeric pre-release identifier with a leading zero")
                }
            }
        }
        let core = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard core.count == 3, let ma = DecimalNumber.parse(core[0]), let mi = DecimalNumber.parse(core[1]),
              let pa = DecimalNumber.parse(core[2])
        else { throw fail("is not MAJOR.MINOR.PATCH without leading zeros (SemVer 2.0, e.g. 1.4.2)") }
        major = ma
        minor = mi
        patch = pa
        prerelease = pre
        self.build = build
        description = text
    }

    private static func isIdentifier(_ s: some StringProtocol) -> Bool {
        s.utf8.allSatisfy { Identifier.isAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// Precedence equality: build metadata does not count.
    public func hasSamePrecedence(as other: SemanticVersion) -> Bool {
        !(self < other) && !(other < self)
    }

    public static func < (a: SemanticVersion, b: SemanticVersion) -> Bool {
        if a.major != b.major { return a.major < b.major }
        if a.minor != b.minor { return a.minor < b.minor }
        if a.patch != b.patch { return a.patch < b.patch }
        // A pre-release sorts before its release.
        switch (a.prerelease.isEmpty, b.prerelease.isEmpty) {
        case (true, true): return false
        case (true, false): return false
        case (false, true): return true
        case (false, false): break
        }
        for (x, y) in zip(a.prerelease, b.prerelease) where x != y {
            switch (UInt64(x), UInt64(y)) {
            case let (nx?, ny?): return nx < ny
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return x.utf8.lexicographicallyPrecedes(y.utf8)
            }
        }
        return a.prerelease.count < b.prerelease.count
    }

    public static func == (a: SemanticVersion, b: SemanticVersion) -> Bool { a.description == b.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
