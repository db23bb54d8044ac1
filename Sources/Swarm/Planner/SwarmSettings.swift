/// How one download spreads its requests over peers. Defaults suit a LAN or a
/// data centre with chunks of 16–256 KiB.
public struct SwarmSettings: Sendable {
    /// Requests in flight to a peer we have not measured yet.
    public var initialWindow = 4
    /// The most requests in flight to one peer, however fast it is.
    public var maxWindow = 64
    /// The fewest requests a peer's window shrinks to (at least 1). One: a requester
    /// that gets a small share of a busy uploader keeps one request queued there, not two,
    /// so the uploader's queue (and every hop of a fresh chunk through it) is half as long;
    /// the other requesters keep its link busy meanwhile (see
    /// `SwarmPeer.targetInFlightNanoseconds`).
    public var minWindow = 1
    /// Cap on the bytes requested and not yet received, over all peers of
    /// this download, so memory stays bounded. One request is always allowed
    /// when nothing is in flight, even if its chunk is larger.
    public var maxBytesInFlight: UInt64 = 4 << 20
    /// The first this many chunks are picked at random (so a new node soon
    /// has something to trade), then rarest first.
    public var randomFirst = 4
    /// Nanoseconds; a request not answered by then is re-issued elsewhere and
    /// the peer's window is halved.
    public var requestTimeout: UInt64 = 15_000_000_000
    /// Bad (digest-mismatch) chunks from a peer before it is banned.
    public var strikesToBan = 3
    /// Time-outs in a row (each at least a ``requestTimeout`` after the last counted, no chunk
    /// from the peer in between) before a peer is asked for nothing for ``benchFor``: a peer
    /// that says it has everything and answers nothing would otherwise keep requests waiting
    /// 15 s at a time for as long as the download runs (its window only halves, down to one
    /// request). Not a ban: it sent nothing wrong, and other downloads still use it. A peer
    /// that is the only one offering a chunk the download lacks is never benched: a holder
    /// that is only swamped may be its one source.
    public var timeoutsToBench = 3
    /// Nanoseconds a peer benched for its time-outs is asked for nothing.
    public var benchFor: UInt64 = 60_000_000_000
    /// In endgame, the most peers asked for the same chunk at once (with `endgameMoves`,
    /// any value above 1 allows moves); 1 turns endgame off.
    public var endgameDuplicates = 2
    /// In endgame, a request `endgameAfter` old (and not raced already, see `endgameAfter`)
    /// is moved rather than raced: the late peer gets a cancel and another peer the request. A request that late is almost always still waiting in
    /// the late peer's upload queue, where a cancel removes it before any byte is sent; a
    /// race paid for the chunk twice. In a delta release (all endgame) the first node to get
    /// a new chunk from the seed is asked for it by the whole fleet at once, so raced
    /// copies would push a node well over the bytes it lacked. False: race, as
    /// BitTorrent's endgame does.
    public var endgameMoves = true
    /// Nanoseconds; in endgame a chunk is asked of a second peer only once its first
    /// request is late: older than this download's requests usually take to be answered
    /// (their smoothed time plus four deviations, as TCP's time-out), and then raced; once
    /// the request is this old it is moved (``endgameMoves``). Asking at once doubled what a
    /// small delta release moved (every chunk of it is in endgame); waiting this long at
    /// 10,000 simulated nodes left the last few hundred waiting out requests stuck in the
    /// queues of the first to finish, while their other peers held the chunk.
    public var endgameAfter: UInt64 = 500_000_000
    /// Endgame duplicates may come to at most this share of the bytes the download
    /// started without (and at least the largest chunk it lacks): a bound on what a
    /// download moves in all. A delta release is all endgame, and on a loaded machine its
    /// requests grow old, so without a budget a node can receive far more than the delta;
    /// an eighth keeps a 1 MiB delta under the 1.5 MiB a node may move for it.
    public var endgameBudget = 0.125
    /// `--max-download-rate` in bytes per second; `nil` means unlimited. The
    /// burst is the largest chunk size.
    public var downloadBytesPerSecond: UInt64? = nil

    public init() {}
}
