import CSodium

/// Streaming BLAKE2b (libsodium's `crypto_generichash`), unkeyed.
public struct Blake2b: ~Copyable {
    // libsodium's state is 64-byte aligned, which Swift imports as opaque:
    // allocate it by hand.
    private let state: UnsafeMutableRawPointer
    private let outputLength: Int

    /// Starts a hash of `outputLength` bytes (16...64).
    public init(outputLength: Int) {
        Sodium.ready()
        self.outputLength = outputLength
        state = .allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        _ = crypto_generichash_init(OpaquePointer(state), nil, 0, outputLength)
    }

    deinit { state.deallocate() }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = crypto_generichash_update(
            OpaquePointer(state), bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public consuming func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputLength)
        out.withUnsafeMutableBufferPointer { _ = crypto_generichash_final(OpaquePointer(state), $0.baseAddress!, outputLength) }
        return out
    }

    /// One-shot BLAKE2b-256 of a memory region, without copying it.
    public static func digest256(_ bytes: UnsafeRawBufferPointer) -> Digest256 {
        Sodium.ready()
        var out = Digest256.zero
        withUnsafeMutableBytes(of: &out.storage) { dst in
            _ = crypto_generichash(
                dst.baseAddress!.assumingMemoryBound(to: UInt8.self), 32,
                bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count), nil, 0)
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
