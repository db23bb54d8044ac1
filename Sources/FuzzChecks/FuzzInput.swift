/// The fuzzer's bytes read as a sequence of choices, for the targets that drive state machines
/// rather than one decoder. Rule: reading never fails; past the end every read gives zero (and
/// ``isEmpty`` says so), so every input, however short, is one well-defined run, and a fuzzer's
/// mutation of one byte changes one choice, not how the rest is framed.
struct FuzzInput {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isEmpty: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bool() -> Bool { byte() & 1 == 1 }

    /// Big-endian, as the gossip wire writes integers (so seeds read like packets).
    mutating func u16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }
    mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }
    mutating func u64() -> UInt64 { UInt64(u32()) << 32 | UInt64(u32()) }

    /// A number in `0..<count` (`count` at least 1).
    mutating func below(_ count: Int) -> Int { Int(byte()) % max(1, count) }

    mutating func pick<T>(_ options: [T]) -> T { options[below(options.count)] }

    /// Up to `count` bytes (fewer at the end of the input).
    mutating func bytes(_ count: Int) -> [UInt8] {
        let n = max(0, min(count, bytes.count - offset))
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }
}
