import CSodium

/// libsodium, initialised once per process before any other call.
///
/// `sodium_init()` picks the fastest implementations for this CPU (AVX2
/// BLAKE2b among them) and seeds the random generator; every wrapper in this
/// module goes through ``Sodium/ready`` first.
public enum Sodium {
    /// Evaluated once, thread-safely, on first use (Swift globals are lazy and atomic).
    private static let initialised: Bool = sodium_init() >= 0

    /// Calls `sodium_init()` once; traps only if libsodium itself cannot start,
    /// which no input can cause.
    @inline(__always)
    public static func ready() {
        precondition(initialised, "libsodium failed to initialise")
    }

    /// `count` bytes from libsodium's CSPRNG.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        ready()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return out
    }

    /// Whether two byte strings are equal, in time that does not depend on where they differ
    /// (`sodium_memcmp`); strings of different lengths are unequal.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        ready()
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in sodium_memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }
    }

    /// Overwrites secret bytes in place.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let p = $0.baseAddress { sodium_memzero(p, $0.count) } }
    }
}
