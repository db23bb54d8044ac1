/// A byte count for people: `812 B`, `64.0 KiB`, `1.5 GiB` (1024-based, one decimal).
public struct ByteCount: CustomStringConvertible, Sendable {
    public let bytes: UInt64

    public init(_ bytes: UInt64) { self.bytes = bytes }

    public var description: String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        guard bytes >= 1024 else { return "\(bytes) B" }
        var unit = 0
        var scale: UInt64 = 1024
        while unit < units.count - 1, bytes / scale >= 1024 {
            scale *= 1024
            unit += 1
        }
        // Tenths, rounded half up, without going through floating point.
        let tenths = (bytes / scale) * 10 + ((bytes % scale) * 10 + scale / 2) / scale
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }
}
