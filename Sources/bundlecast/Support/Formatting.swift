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
