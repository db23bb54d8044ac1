import CBlake2b
import CSodium

/// Streaming, unkeyed BLAKE2b (RFC 7693).
///
/// Backed by the project's C implementation (`CBlake2b`) rather than
/// libsodium's `crypto_generichash`: same digests (the tests compare them on
/// random input), faster than the libsodium packaged by Debian (see
/// docs/benchmarks.md), and every byte of every bundle goes through it.
public struct Blake2b {
    private var state = bc_blake2b_state()

    /// Starts a hash of `outputLength` bytes (1...64).
    public init(outputLength: Int) {
        precondition((1...64).contains(outputLength))
        bc_blake2b_init(&state, outputLength)
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        bc_blake2b_update(&state, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: state.outlen)
        out.withUnsafeMutableBufferPointer { bc_blake2b_final(&state, $0.baseAddress!) }
        return out
    }

    /// Overwrites the state with zeros: after hashing a secret, the state holds what it was.
    public mutating func wipe() {
        withUnsafeMutableBytes(of: &state) { sodium_memzero($0.baseAddress!, $0.count) }
    }

    /// One-shot BLAKE2b-256 of a memory region, without copying it.
    public static func digest256(_ bytes: UnsafeRawBufferPointer) -> Digest256 {
        var out = Digest256.zero
        withUnsafeMutableBytes(of: &out.storage) { dst in
            bc_blake2b(dst.baseAddress!.assumingMemoryBound(to: UInt8.self), 32, bytes.baseAddress, bytes.count)
        }
        return out
    }

    /// One-shot BLAKE2b-256.
    public static func digest256(_ bytes: [UInt8]) -> Digest256 {
        bytes.withUnsafeBytes { digest256($0) }
    }

    /// One-shot BLAKE2b-512: what minisign's "ED" algorithm signs.
    public static func digest512(_ bytes: [UInt8]) -> [UInt8] {
        var h = Blake2b(outputLength: 64)
        h.update(bytes)
        return h.finalize()
    }
}
