import ArgumentParser
import BundlecastCore

/// Why a command-line value was refused, shown by ArgumentParser after
/// "The value 'X' is invalid for '--option <name>': ".
struct ArgumentError: Error, CustomStringConvertible, Equatable {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A value typed on the command line: parsed once, when the arguments are read, and refused
/// with a reason (declare the option with `transform: T.parse` so the reason is shown; a bare
/// `ExpressibleByArgument` failure only names the option).
protocol ArgumentValue: ExpressibleByArgument, CustomStringConvertible, Sendable {
    init(parsing text: String) throws(ArgumentError)
}

extension ArgumentValue {
    init?(argument: String) { try? self.init(parsing: argument) }
    var defaultValueDescription: String { description }
    static func parse(_ text: String) throws -> Self { try Self(parsing: text) }
}

/// `HOST:PORT`, port 0...65535 (the last colon splits, so an IPv6 literal needs no brackets).
struct HostPort: ArgumentValue, Hashable {
    let host: String
    let port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init(parsing text: String) throws(ArgumentError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ArgumentError("\"\(text)\" is not HOST:PORT")
        }
        host = String(text[..<colon])
        self.port = port
        guard !host.isEmpty else { throw ArgumentError("\"\(text)\" has no host") }
    }

    var description: String { "\(host):\(port)" }

    /// `http://HOST:PORT`, with an IPv6 host in brackets.
    var httpURL: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    var isLoopback: Bool { host == "127.0.0.1" || host == "::1" || host == "localhost" }
}

/// `HOST:PORT,HOST:PORT,...` (an empty list is allowed: no member to join through).
struct HostPortList: ArgumentValue {
    let addresses: [HostPort]

    init(parsing text: String) throws(ArgumentError) {
        var addresses: [HostPort] = []
        for part in text.split(separator: ",") { addresses.append(try HostPort(parsing: String(part))) }
        self.addresses = addresses
    }

    var description: String { addresses.map(\.description).joined(separator: ",") }
}

/// A number of bytes: `750000`, `750000B`, `500K`, `20M`, `1G`, `2T`, or with `iB`
/// (`500KiB`, `20MiB`); every multiple is 1024-based, as aria2 and curl read `K` and `M`.
struct ByteSize: ArgumentValue, Equatable {
    let bytes: UInt64

    init(bytes: UInt64) { self.bytes = bytes }

    init(parsing text: String) throws(ArgumentError) {
        guard let bytes = Self.bytes(text) else { throw ArgumentError("\"\(text)\" is not a size such as 500M, 20G or 1T") }
        self.bytes = bytes
    }

    var description: String { Self.text(bytes) }

    private static let units: [(suffix: Character, scale: UInt64)] = [("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)]

    /// The count `text` names, nil if it is not one; 0 is not a size.
    static func bytes(_ text: some StringProtocol) -> UInt64? {
        var digits = Substring(text)
        if digits.hasSuffix("iB") {
            digits = digits.dropLast(2)
            guard let last = digits.last, units.contains(where: { $0.suffix == last.uppercased().first }) else { return nil }
        } else if digits.hasSuffix("B") {
            digits = digits.dropLast()
        }
        var scale: UInt64 = 1
        if let last = digits.last, let unit = units.first(where: { $0.suffix == last.uppercased().first }) {
            scale = unit.scale
            digits = digits.dropLast()
        }
        guard digits.allSatisfy(\.isASCII), let n = UInt64(digits), n > 0 else { return nil }
        let (value, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : value
    }

    /// The shortest exact form: `20MiB`, `1536KiB`, `750000B`.
    static func text(_ bytes: UInt64) -> String {
        for (suffix, scale) in units.reversed() where bytes >= scale && bytes % scale == 0 { return "\(bytes / scale)\(suffix)iB" }
        return "\(bytes)B"
    }
}

/// Bytes per second, written as a ``ByteSize`` with an optional `/s`: `20M`, `20MiB/s`, `500K/s`.
struct ByteRate: ArgumentValue, Equatable {
    let bytesPerSecond: UInt64

    init(bytesPerSecond: UInt64) { self.bytesPerSecond = bytesPerSecond }

    init(parsing text: String) throws(ArgumentError) {
        let amount = text.hasSuffix("/s") ? text.dropLast(2) : Substring(text)
        guard let bytes = ByteSize.bytes(amount) else {
            throw ArgumentError("\"\(text)\" is not a rate such as 500K, 20M or 1G (bytes per second)")
        }
        bytesPerSecond = bytes
    }

    var description: String { ByteSize.text(bytesPerSecond) + "/s" }
}

/// A whole number of seconds written with its unit: `90s`, `15m`, `12h`, `30d`, `2w`.
/// `0s` parses; options that need a positive or bounded span say so with ``parser(_:)``.
struct Span: ArgumentValue, Equatable, Comparable {
    let seconds: UInt64

    init(seconds: UInt64) { self.seconds = seconds }

    init(parsing text: String) throws(ArgumentError) {
        guard let seconds = Self.seconds(text) else { throw ArgumentError("\"\(text)\" is not a duration such as 90s, 15m, 12h, 30d or 2w") }
        self.seconds = seconds
    }

    var duration: Duration { .seconds(seconds) }

    var description: String {
        for (unit, scale) in Self.units.reversed() where seconds >= scale && seconds % scale == 0 { return "\(seconds / scale)\(unit)" }
        return "\(seconds)s"
    }

    static func < (a: Span, b: Span) -> Bool { a.seconds < b.seconds }

    private static let units: [(unit: Character, scale: UInt64)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 7 * 86_400)]

    private static func seconds(_ text: String) -> UInt64? {
        guard let last = text.last, let scale = units.first(where: { $0.unit == last })?.scale else { return nil }
        let digits = text.dropLast()
        guard digits.allSatisfy(\.isASCII), let n = UInt64(digits) else { return nil }
        let (value, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : value
    }

    /// A parser for `transform:` that also refuses spans outside `range`, saying which bound.
    static func parser(_ range: ClosedRange<Span>) -> @Sendable (String) throws -> Span {
        { text in
            let span = try Span(parsing: text)
            guard span >= range.lowerBound else {
                throw ArgumentError(range.lowerBound.seconds <= 1 ? "a duration of 0s is not allowed here" : "less than \(range.lowerBound)")
            }
            guard span <= range.upperBound else { throw ArgumentError("more than \(range.upperBound)") }
            return span
        }
    }

    /// More than nothing, without an upper bound.
    static let positive = Span(seconds: 1)...Span(seconds: .max)
}

/// `--trust APP=Keys/NAME.pub`: an app and the file of the publisher key to pin for it.
struct TrustFlag: ArgumentValue {
    let app: String
    let keyPath: String

    init(parsing text: String) throws(ArgumentError) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
            throw ArgumentError("\"\(text)\" is not APP=KEYFILE")
        }
        app = String(text[..<eq])
        keyPath = String(text[text.index(after: eq)...])
        do { try Identifier.validateApp(app) } catch { throw ArgumentError(error.description) }
    }

    var description: String { "\(app)=\(keyPath)" }
}
