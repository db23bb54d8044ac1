import BundlecastCore
import Foundation

/// Sizes and times for humans.
enum Format {
    static func bytes(_ n: UInt64) -> String { ByteCount(n).description }

    static func date(_ unix: UInt64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
    }

    static func percent(_ part: UInt64, of whole: UInt64) -> String {
        whole == 0 ? "0%" : String(format: "%.1f%%", Double(part) * 100 / Double(whole))
    }
}

/// Durations such as `90s`, `15m`, `12h`, `30d`, `2w` (`0s` only where `allowZero`).
enum DurationText {
    static func seconds(_ text: String, allowZero: Bool = false) -> UInt64? {
        guard let unit = text.last, let n = UInt64(text.dropLast()), n > 0 || allowZero else { return nil }
        let scale: UInt64
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86_400
        case "w": scale = 7 * 86_400
        default: return nil
        }
        let (value, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : value
    }
}

/// Byte quantities as typed: `750000`, `500K`, `20M`, `1G` (1024-based, as aria2 and curl read them).
enum ByteQuantity {
    static func parse(_ text: String) -> UInt64? {
        guard let last = text.last else { return nil }
        let scale: UInt64
        var digits = Substring(text)
        switch last {
        case "K", "k": scale = 1 << 10; digits = digits.dropLast()
        case "M", "m": scale = 1 << 20; digits = digits.dropLast()
        case "G", "g": scale = 1 << 30; digits = digits.dropLast()
        case "T", "t": scale = 1 << 40; digits = digits.dropLast()
        default: scale = 1
        }
        guard let n = UInt64(digits), n > 0 else { return nil }
        let (value, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : value
    }
}

/// Rates in bytes per second, written like ``ByteQuantity``.
enum Rate {
    static func bytesPerSecond(_ text: String) -> UInt64? { ByteQuantity.parse(text) }
}
