/// A node's identity: 16 random bytes, generated once and kept in the node's
/// data directory, so a restarted node is the same member.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static func random<R: RandomNumberGenerator>(using rng: inout R) -> NodeID {
        NodeID(high: rng.next(), low: rng.next())
    }

    public static func < (a: NodeID, b: NodeID) -> Bool { (a.high, a.low) < (b.high, b.low) }

    /// 32 hex digits.
    public var description: String {
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex(high) + hex(low)
    }

    /// The first 8 hex digits, for logs.
    public var short: String { String(description.prefix(8)) }
}

/// Where a member listens for gossip.
public struct PeerAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// An IP literal or host name, at most 255 bytes.
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public static func < (a: PeerAddress, b: PeerAddress) -> Bool {
        (a.host.utf8.lexicographicallyPrecedes(b.host.utf8)) || (a.host == b.host && a.port < b.port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// SplitMix64: a small, seedable generator, so the state machine (and the
/// simulator running thousands of them) is deterministic from a seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
