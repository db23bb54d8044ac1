/// Timing and fan-out of the membership protocol; all durations in
/// nanoseconds. Defaults follow memberlist's LAN profile.
public struct SWIMSettings: Sendable {
    /// One member is probed per interval.
    public var probeInterval: UInt64 = 1_000_000_000
    /// Wait this long for a direct ack before asking others (ping-req).
    public var probeTimeout: UInt64 = 500_000_000
    /// Members asked to probe indirectly.
    public var indirectProbes = 3
    /// Suspicion lasts `suspicionMultiplier * max(1, log10(n)) * probeInterval`.
    public var suspicionMultiplier = 4
    /// Rumours go out on their own tick, to `gossipFanout` random members.
    public var gossipInterval: UInt64 = 200_000_000
    public var gossipFanout = 3
    /// A new rumour does not wait for the next round: a round goes out as soon as this
    /// long has passed since the last one. memberlist waits for the next round, up to
    /// `gossipInterval` per hop; over the three or four hops a fleet of a few dozen needs,
    /// that was most of the time between a release and its downloads starting (a
    /// node's metadata says who holds the release). The number of times each rumour is
    /// sent is unchanged: it only goes out sooner.
    public var freshRumourDelay: UInt64 = 20_000_000
    /// Release notices go out on rounds of their own, this often (each to `gossipFanout`
    /// members, as many times as a membership rumour). A fleet waits on a notice before it
    /// can fetch anything, and notices are rare and a few hundred bytes, so sending them on
    /// the membership rounds delayed every release by rounds' worth of hops for nothing. The
    /// same transmissions, four times sooner (docs/benchmarks.md, *Delta release*).
    public var noticeInterval: UInt64 = 50_000_000
    /// Each rumour is sent about `retransmitMultiplier * max(2, ceil(log10(n + 1)))` times.
    public var retransmitMultiplier = 4
    /// Rumours piggybacked on one message at most (the wire also caps bytes).
    public var maxPiggyback = 8
    /// Dead and left members are forgotten after this long.
    public var deadRetention: UInt64 = 60_000_000_000
    /// Members declared dead or gone are retried with a push-pull for this
    /// long, one at a time, so two halves of a healed partition find each other again (Serf's
    /// reconnect; the retry goes with each periodic push-pull).
    public var reconnectFor: UInt64 = 3_600_000_000_000
    /// Lifeguard: probe interval and time-outs grow by up to this factor when
    /// this node itself is slow (missed acks, refuted suspicions).
    public var maxLocalHealth = 8
    /// Members held at most: an alive rumour about one more is ignored. Rumours are free to
    /// forge without a fleet key, and each member costs up to about 700 bytes (its metadata
    /// is at most 512), so this bounds the table at about 35 MB; fake members are probed,
    /// declared dead and forgotten after `deadRetention`, which makes room again.
    public var maxMembers = 50_000

    public init() {}
}
