import Foundation

/// A `Range` header as the content server honours it: one range of bytes.
///
/// Several ranges, other units and malformed values are ignored (the whole file is sent,
/// as RFC 9110 allows); a range that starts past the end is unsatisfiable (416).
enum ByteRangeRequest: Equatable {
    /// Bytes `lower...upper` (inclusive), within the file.
    case range(lower: UInt64, upper: UInt64)
    case unsatisfiable
    /// No usable range: send it all.
    case whole

    /// Digits a position may have: more than a 64-bit size could need is not a position.
    static let maxDigits = 19

    static func parse(_ header: String?, size: UInt64) -> ByteRangeRequest {
        guard let header else { return .whole }
        let value = header.trimmingCharacters(in: .whitespaces)
        guard value.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = value.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            // A suffix: the last N bytes.
            guard let n = number(last) else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .range(lower: size - min(n, size), upper: size - 1)
        }
        guard let lower = number(first) else { return .whole }
        var upper = size == 0 ? 0 : size - 1
        if !last.isEmpty {
            guard let given = number(last), given >= lower else { return .whole }
            upper = min(given, upper)
        }
        guard lower < size else { return .unsatisfiable }
        return .range(lower: lower, upper: upper)
    }

    private static func number(_ text: String) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= maxDigits, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(text)
    }
}
