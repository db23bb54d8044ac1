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

    /// Overwrites secret bytes in place.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let p = $0.baseAddress { sodium_memzero(p, $0.count) } }
    }
}
