/// A number of bytes: `750000`, `750000B`, `500K`, `20M`, `1G`, `2T`, or with `iB` or `B`
/// (`500KiB`, `20MiB`, `20MB`); every multiple is 1024-based, as aria2 and curl read `K` and
/// `M`, so that no spelling of a size means two amounts.
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
