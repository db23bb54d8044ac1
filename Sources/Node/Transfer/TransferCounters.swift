/// What the transfer shell counted (cumulative since start); shown in status.
public struct TransferCounters: Sendable, Equatable, Codable {
    /// Chunk payload bytes received from peers and stored.
    public var bytesIn: UInt64 = 0
    /// Chunk payload bytes sent to peers.
    public var bytesOut: UInt64 = 0
    public var chunksIn = 0
    public var chunksOut = 0
    /// Uploads of a chunk this node had already sent: to another peer (the fleet already had
    /// it, as far as this node can tell), and to the same peer again (a retry).
    public var resentToOthers: Int? = 0
    public var resentToSame: Int? = 0
    /// Requests a seed refused while its link was busy, because it had sent the chunk to
    /// another peer moments before (super-seeding).
    public var refusedResends: Int? = 0
    /// Chunks sent by the kernel from their pack file (`sendfile`) rather than read first.
    public var chunksOutFromFile: Int? = 0
    /// Chunks that did not match their digest (each a strike against the sender).
    public var badChunks = 0
    /// Chunk bytes stored from the admin API (`bundlecast seed`), not from peers.
    public var bytesSeeded: UInt64 = 0
    /// Frames that broke the protocol (the connection was closed).
    public var badFrames = 0
    /// Have-sets whose chunk count is not the manifest's: the peer is dropped from that
    /// download (optional: older nodes' status answers leave it out).
    public var badHaveSets: Int? = 0
    public var connectionsIn = 0
    public var connectionsOut = 0
    /// Connections refused because of the per-peer or total limit.
    public var connectionsRefused = 0
    /// Have-queries dropped because the peer already had ``TransferConnection/maxHaveQueries`` being answered.
    public var haveQueriesDropped: Int? = 0
    /// Connections closed because the peer had sent nothing for ``TransferConnection/idleTimeout``.
    public var idleClosed: Int? = 0
    /// Peers banned for sending bad chunks, in all (bans restored at start included).
    public var bannedCount: Int? = 0
    /// The latest ``bannedListed`` of them, by node id, oldest first: identities cost nothing
    /// to make, so the list shown is bounded while the count is not.
    public var banned: [String] = []
    public static let bannedListed = 64

    public init() {}
}
