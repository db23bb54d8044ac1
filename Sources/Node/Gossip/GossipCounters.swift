/// What the gossip shell counted: packets in and out, and every drop by reason.
public struct GossipCounters: Sendable, Equatable, Codable {
    public var datagramsIn = 0
    public var datagramsOut = 0
    public var bytesIn = 0
    public var bytesOut = 0
    /// No valid fleet-key tag (or a tag where the fleet is open).
    public var droppedUnauthenticated = 0
    /// Larger than a datagram may be.
    public var droppedOversized = 0
    /// Anything else the codec refused.
    public var droppedMalformed = 0
    /// Notices and rotations dropped unchecked because ``GossipRuntime/maxNoticeChecks``
    /// were already waiting for their signature check (optional: older status answers lack it).
    public var droppedBusy: Int? = 0
    public var pushPulls = 0
    /// Datagrams the kernel would not send: an address no datagram can go to (port 0, a
    /// broadcast address, no route, the other family) or a full send buffer. Dropped and
    /// counted, never fatal (``GossipSendSocket``); optional, as older status answers lack it.
    public var unsent: Int? = 0

    public init() {}
}
