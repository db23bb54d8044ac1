import Gossip

/// Which peers one download dials and when it asks them again what they hold: the rules
/// around ``SwarmPlanner`` that pick its peers.
///
/// Pure, like the planner: time is passed in (monotonic nanoseconds), the shuffle is seeded,
/// and nothing whose order matters comes from iterating a `Dictionary`. The shell dials what
/// ``refresh(_:now:)`` returns, reports how each dial went, and sends a have-query to every
/// peer the policy says to ask.
///
/// Rules:
/// - at most `maxPeers` peers, a dial in progress counting, so slow candidates are not
///   dialled again at every refresh;
/// - same zone first, then in a random order, so a fleet does not all dial the same peers;
/// - peers holding the whole release are dialled beyond `maxPeers` until `extraHolders` of
///   the download's peers hold it, but only while the download lacks a chunk no peer of it
///   offers (see ``FetchSettings/extraHolders``): at scale the few nodes that finish first
///   were otherwise dialled by every download at once, and their upload queues held
///   requests for most of a second;
/// - a failed dial is forgotten, so a later refresh may try that candidate again;
/// - every connected peer, complete ones too, is asked for its have-set again after
///   `requery` (one that refused a chunk must be asked again, or it would stay unknown);
/// - a peer fetching the same manifest that asks us is a source too, asked at once, while
///   fewer than `maxAskers` such peers are in the download.
public struct FetchPolicy: Sendable {
    /// A peer that may hold the manifest's chunks, as gossip describes it.
    public struct Candidate: Sendable, Equatable {
        public var id: NodeID
        public var sameZone: Bool
        /// It holds the whole release (not merely downloading it).
        public var complete: Bool

        public init(id: NodeID, sameZone: Bool, complete: Bool = false) {
            self.id = id
            self.sameZone = sameZone
            self.complete = complete
        }
    }

    /// A peer of this download: dialled (connected once it said hello), and when it was
    /// last asked for its have-set.
    struct Peer: Sendable, Equatable {
        var connected = false
        /// It holds the whole release (gossip said so when dialled, or its have-set did).
        var complete = false
        var lastQuery: UInt64 = 0
        /// The last have-query is not answered yet (its answer times the round trip).
        var awaitingHave = false
        /// It dialled us and asked (``peerAsked(_:now:)``), rather than being dialled.
        var asker = false
    }

    /// What one refresh asks of the shell.
    public struct Refresh: Sendable, Equatable {
        /// Dial these, in this order.
        public var dial: [Candidate] = []
        /// Send each a have-query.
        public var query: [NodeID] = []
    }

    public let settings: FetchSettings
    private(set) var peers: [NodeID: Peer] = [:]
    /// Peers in `peers` that were taken because they asked.
    private var askers = 0
    private var lastRefresh: UInt64 = 0
    private var rng: SplitMix64

    public init(settings: FetchSettings, seed: UInt64) {
        self.settings = settings
        rng = SplitMix64(seed: seed)
    }

    /// The peers of this download (dialled or connected), in id order.
    public var known: [NodeID] { peers.keys.sorted() }

    /// Before this, no refresh is due whatever the planner says (so the shell need not ask it).
    public var earliestRefresh: UInt64 { lastRefresh &+ settings.refreshInterval(lacksSource: true) }

    /// True once per `refresh` interval, or `refreshLacking` while the download `lacksSource`
    /// (``SwarmPlanner/lacksSource``): time to call ``refresh(_:now:)``. Looking at the
    /// candidates costs the shell a walk over every member's metadata, so not at every tick.
    public mutating func refreshDue(now: UInt64, lacksSource: Bool = false) -> Bool {
        guard now >= lastRefresh &+ settings.refreshInterval(lacksSource: lacksSource) else { return false }
        lastRefresh = now
        return true
    }

    /// Chooses the candidates to dial (the shell has left out banned ones and itself) and
    /// the connected peers to ask again what they hold. `lacksSource`: some chunk the
    /// download still needs is offered by none of its peers (``SwarmPlanner/lacksSource``);
    /// only then are holders dialled beyond `maxPeers`.
    public mutating func refresh(_ candidates: [Candidate], lacksSource: Bool = true, now: UInt64) -> Refresh {
        var result = Refresh()
        var dialled = peers.count
        var holders = peers.values.filter(\.complete).count
        var fresh = candidates.filter { peers[$0.id] == nil }
        fresh.shuffle(using: &rng)
        var seen = Set<NodeID>()
        for candidate in fresh.filter(\.sameZone) + fresh.filter({ !$0.sameZone }) where seen.insert(candidate.id).inserted {
            if dialled < settings.maxPeers {
                dialled += 1
            } else if !(candidate.complete && lacksSource && holders < settings.extraHolders) {
                continue
            }
            if candidate.complete { holders += 1 }
            result.dial.append(candidate)
        }
        let due = known.filter { id in peers[id]!.connected && now >= peers[id]!.lastQuery + settings.requery }
        for candidate in result.dial { peers[candidate.id] = Peer(complete: candidate.complete) }
        for id in due { asked(id, now: now) }
        result.query = due
        return result
    }

    /// A dial succeeded (the peer proved its id): it is asked at once what it holds.
    /// Returns false when the peer was forgotten meanwhile (its link closed before the
    /// dial's answer was handled): the shell then must not add it to the planner, where
    /// nothing would remove it.
    @discardableResult
    public mutating func connected(_ peer: NodeID, now: UInt64) -> Bool {
        guard peers[peer] != nil else { return false }
        peers[peer]!.connected = true
        asked(peer, now: now)
        return true
    }

    /// A dial failed: forgotten, so a later refresh may try again.
    public mutating func dialFailed(_ peer: NodeID) {
        remove(peer)
    }

    /// A peer that we did not dial asked us about this manifest: a source too, while fewer
    /// than `maxAskers` are. True when it is taken (the shell adds it to the planner and
    /// sends it a have-query).
    public mutating func peerAsked(_ peer: NodeID, now: UInt64) -> Bool {
        guard peers[peer] == nil, askers < settings.maxAskers else { return false }
        askers += 1
        peers[peer] = Peer(connected: true, asker: true)
        asked(peer, now: now)
        return true
    }

    /// A have-set came: the round trip of the query it answers (nil when it answers none,
    /// or the clock did not move). A peer found to hold everything counts toward
    /// `extraHolders`, however it was found.
    public mutating func answered(_ peer: NodeID, complete: Bool, now: UInt64) -> UInt64? {
        guard var state = peers[peer] else { return nil }
        if complete { state.complete = true }
        let asked = state.awaitingHave ? state.lastQuery : nil
        state.awaitingHave = false
        peers[peer] = state
        guard let asked, now > asked else { return nil }
        return now - asked
    }

    /// The peer left the download (its connection closed, or it was dropped); true if it was in it.
    @discardableResult
    public mutating func remove(_ peer: NodeID) -> Bool {
        guard let gone = peers.removeValue(forKey: peer) else { return false }
        if gone.asker { askers -= 1 }
        return true
    }

    private mutating func asked(_ peer: NodeID, now: UInt64) {
        guard peers[peer] != nil else { return }
        peers[peer]!.lastQuery = now
        peers[peer]!.awaitingHave = true
    }
}
