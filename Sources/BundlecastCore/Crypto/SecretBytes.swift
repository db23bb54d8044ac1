import CSodium

/// Secret bytes in memory of their own, overwritten with zeros (`sodium_memzero`) when the last
/// value that holds them goes away, so a key does not linger in freed memory after its use.
///
/// Its bytes never change after `init`, so it is safe to share (hence `@unchecked Sendable`).
final class SecretBytes: @unchecked Sendable {
    private let storage: UnsafeMutableRawBufferPointer

    let count: Int

    /// `count` bytes, written by `fill` straight into the secret memory (no copy left behind).
    init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        storage = .allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        self.count = count
        fill(UnsafeMutableRawBufferPointer(rebasing: storage[..<count]))
    }

    func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[..<count]))
    }

    /// The bytes in `range`, copied out: only for what is not secret (a public half).
    func copy(_ range: Range<Int>) -> [UInt8] { withUnsafeBytes { Array($0[range]) } }

    deinit {
        sodium_memzero(storage.baseAddress!, storage.count)
        storage.deallocate()
    }
}
