/// Canonical unsigned decimal integers: digits only, no sign, no leading
/// zero (except "0" itself), exact up to `UInt64.max`.
public enum DecimalNumber {
    public static func parse(_ text: some StringProtocol) -> UInt64? {
        let utf8 = text.utf8
        guard let first = utf8.first, utf8.count <= 20 else { return nil }
        if first == UInt8(ascii: "0") { return utf8.count == 1 ? 0 : nil }
        var value: UInt64 = 0
        for c in utf8 {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = s
        }
        return value
    }
}
