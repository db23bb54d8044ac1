/// How a node's download of one manifest finds and keeps its peers (``FetchPolicy``), and
/// how it spreads its requests over them (``SwarmSettings``). The node and the swarm
/// simulation both take these values, so the simulator models the node it is quoted for.
public struct FetchSettings: Sendable {
    public var swarm = SwarmSettings()
    /// Peers dialled for one download (a dial in progress counts).
    public var maxPeers = 8
    /// Peers holding the whole release: dialled even when `maxPeers` are connected, until
    /// this many of the download's peers hold it (the seed among them). A seed gives each
    /// new chunk to one requester only (super-seeding), so the first node to finish may hold
    /// chunks no one else has; if every download had filled its slots with peers still
    /// downloading, nobody would ask it, and the fleet would wait out the seed's resend window.
    public var extraHolders = 4
    /// Nanoseconds between looks at the candidates (new peers are dialled).
    public var refresh: UInt64 = 250_000_000
    /// Nanoseconds before a peer is asked for its whole have-set again (a backstop: peers
    /// push each new chunk with a `has` frame).
    public var requery: UInt64 = 2_000_000_000

    public init() {}
}
