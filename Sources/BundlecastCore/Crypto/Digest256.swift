/// A BLAKE2b-256 digest: the address of a chunk, a file and a manifest.
///
/// Stored inline (four words) so that millions of them cost no allocations;
/// ordered by their bytes, printed as lowercase hex.
public struct Digest256: Hashable, Comparable, Sendable, CustomStringConvertible {
    // Four big-endian-loaded words would make `<` cheaper, but the order only
    // matters for sorting output, so keep the bytes as they are.
    var storage: (UInt64, UInt64, UInt64, UInt64)

    public static let zero = Digest256(storage: (0, 0, 0, 0))

    init(storage: (UInt64, UInt64, UInt64, UInt64)) { self.storage = storage }

    /// From exactly 32 bytes; `nil` otherwise.
    public init?(bytes: some Collection<UInt8>) {
        // Contiguous bytes (arrays and their slices: every frame and file we parse) are
        // copied in one step; an unspecialised element loop costs a metadata lookup per byte.
        if let digest = bytes.withContiguousStorageIfAvailable({ Digest256(UnsafeRawBufferPointer($0)) }) {
            guard let digest else { return nil }
            self = digest
            return
        }
        guard bytes.count == 32 else { return nil }
        var s: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &s) { dst in
            for (i, b) in bytes.enumerated() { dst[i] = b }
        }
        storage = s
    }

    /// From exactly 32 bytes in memory; `nil` otherwise.
    public init?(_ raw: UnsafeRawBufferPointer) {
        guard raw.count == 32 else { return nil }
        var s: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &s) { $0.copyMemory(from: raw) }
        storage = s
    }

    /// From 64 lowercase hex characters; `nil` for anything else.
    public init?(hex: some StringProtocol) {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        self.init(bytes: bytes)
    }

    public var bytes: [UInt8] {
        Swift.withUnsafeBytes(of: storage) { Array($0) }
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    /// The first 12 hex characters, for humans.
    public var short: String { String(hex.prefix(12)) }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    public static func == (a: Digest256, b: Digest256) -> Bool {
        a.storage.0 == b.storage.0 && a.storage.1 == b.storage.1
            && a.storage.2 == b.storage.2 && a.storage.3 == b.storage.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
    }

    public static func < (a: Digest256, b: Digest256) -> Bool {
        a.bytes.lexicographicallyPrecedes(b.bytes)
    }
}
