/// A minisign key id: 8 random bytes chosen at key generation.
public struct KeyID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 8 else { return nil }
        self.bytes = Array(bytes)
    }

    /// A fresh random id.
    public static func random() -> KeyID { KeyID(bytes: Sodium.randomBytes(8))! }

    /// As minisign prints it: `%016X` of the little-endian u64.
    public var description: String {
        let value = bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let hex = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
