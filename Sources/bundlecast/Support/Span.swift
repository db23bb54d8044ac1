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
