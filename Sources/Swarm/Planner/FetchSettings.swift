/// How a node's download of one manifest finds and keeps its peers (``FetchPolicy``), and
/// how it spreads its requests over them (``SwarmSettings``). The node and the swarm
/// simulation both take these values, so the simulator models the node it is quoted for.
public struct FetchSettings: Sendable {
    public var swarm = SwarmSettings()
    /// Peers dialled for one download (a dial in progress counts).
    public var maxPeers = 8
    /// Peers that dialled us and asked about the manifest (fetching it too) taken as sources
    /// of the download, beyond those it dialled. Bounded: anyone can make an id and ask, and
    /// the planner prefers an idle peer to a busy one, so a crowd of askers that offer
    /// everything and send nothing would otherwise hold most of the download's requests.
    public var maxAskers = 16
    /// Peers holding the whole release: dialled even when `maxPeers` are connected, until
    /// this many of the download's peers hold it (the seed among them). A seed gives each
    /// new chunk to one requester only (super-seeding), so the first node to finish may hold
    /// chunks no one else has; if every download had filled its slots with peers still
    /// downloading, nobody would ask it, and the fleet would wait out the seed's resend window.
    /// Dialled only while the download lacks a chunk none of its peers offers.
    public var extraHolders = 4
    /// Nanoseconds between looks at the candidates (new peers are dialled).
    public var refresh: UInt64 = 250_000_000
    /// The same while the download lacks a chunk none of its peers offers. A seed gives each
    /// new chunk to one requester (super-seeding) and refuses the others, who get it only once
    /// they have dialled a node that holds it: in a small release that wait is most of the
    /// download, so it is shortened; at other times a look would only cost CPU
    /// (docs/benchmarks.md, *Delta release*).
    public var refreshLacking: UInt64 = 50_000_000

    /// The interval between looks at the candidates, given whether the download lacks a source.
    public func refreshInterval(lacksSource: Bool) -> UInt64 { lacksSource ? min(refresh, refreshLacking) : refresh }
    /// Nanoseconds before a peer is asked for its whole have-set again (a backstop: peers
    /// push each new chunk with a `has` frame).
    public var requery: UInt64 = 2_000_000_000
    /// Nanoseconds a missing chunk waits for a peer to offer it before it is fetched from one
    /// of the app's HTTP mirrors (`--mirror`; ``MirrorPlanner``), and before the manifest is.
    /// Long enough that a fleet with a seed never touches its mirrors (peers answer a
    /// have-query in milliseconds), short enough that a release nobody holds starts at once.
    public var mirrorAfter: UInt64 = 1_500_000_000
    /// Mirror requests in flight per download: a mirror is one host serving a whole fleet, and
    /// each node's chunks from it spread to the others, so a few at a time keep it busy enough.
    public var mirrorRequests = 4
    /// Nanoseconds a mirror waits after a failed request (no answer, 5xx, 404) before it is
    /// asked again, doubled with each failure in a row up to `mirrorRetryMax`.
    public var mirrorRetry: UInt64 = 1_000_000_000
    public var mirrorRetryMax: UInt64 = 30_000_000_000

    public init() {}
}
