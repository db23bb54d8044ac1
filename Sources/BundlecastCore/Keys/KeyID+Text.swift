extension KeyID {
    /// Parses a key id as minisign prints it: exactly 16 upper-case hex digits
    /// (`%016X` of the little-endian u64); any other form is refused, so each
    /// id has one text form.
    public init?(text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 16 else { return nil }
        var value: UInt64 = 0
        for c in utf8 {
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        self.init(bytes: (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
    }
}
