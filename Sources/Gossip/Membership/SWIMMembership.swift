/// SWIM membership with Lifeguard's local health, as a pure state machine:
/// events and the current time go in, directives come out. No I/O, no clock,
/// no randomness of its own (a seeded generator lives in the state), so the
/// UDP shell and the simulator run the very same code.
///
/// Rules (SWIM, Das et al. 2002; Lifeguard, Dadgar et al. 2018):
/// - each probe interval one member is pinged, round-robin over a shuffled list;
/// - no ack within the probe time-out: `indirectProbes` others are asked to
///   ping it (ping-req); no ack by the end of the interval: it is suspected;
/// - a suspicion not refuted within the suspicion time-out makes it dead;
/// - a member that hears it is suspected (or dead) refutes with a higher
///   incarnation; only a higher incarnation overrides a suspicion;
/// - rumours ride on every message and on their own gossip tick, each sent
///   about `retransmitMultiplier * max(2, ceil(log10(n + 1)))` times; a new rumour
///   starts a round of its own (`freshRumourDelay` after the last one at the
///   earliest) rather than waiting for the next tick;
/// - local health grows on failed probes and refutations, shrinks on
///   successful probes, and stretches this node's intervals and time-outs.
public struct SWIMMembership: Sendable {
    public enum Directive: Equatable, Sendable {
        /// Send a datagram (``GossipCodec/encodeDatagram(_:)``); a `.pushPull`
        /// message goes over TCP instead (``GossipCodec/encodeStream(_:)``).
        case send(Message, to: PeerAddress)
        /// A member was added or changed status, address or metadata.
        case changed(Member)
    }

    public let settings: SWIMSettings
    public private(set) var me: Member
    /// Lifeguard's local health multiplier, 0 (healthy) ... `maxLocalHealth`.
    public private(set) var localHealth = 0

    /// Every iteration that can change the outcome goes through its ascending ids or its
    /// slots, never through a dictionary's order.
    private var table = MemberTable()
    /// When members were suspected, and declared dead or gone, visited in that order.
    private var suspectedAt = ExpiryQueue()
    private var goneAt = ExpiryQueue()
    /// Members declared dead, with their address and when, retried by ``reconnectTarget(now:)``.
    private var failed: [NodeID: (address: PeerAddress, since: UInt64)] = [:]
    private var rumours: [Rumour] = []
    private var rng: SplitMix64
    private var sequence: UInt32 = 0
    /// The probe round: every slot once, in the order `(start + k·stride) mod slots`.
    private var probeRound = (start: 0, stride: 1, next: 0, slots: 0)
    private var probe: Probe?
    private var nextProbeAt: UInt64
    /// Gossip rounds: every `gossipInterval`, and `freshRumourDelay` after the last one
    /// when a new rumour came.
    private var rounds: GossipRounds
    private var forwards: [UInt32: Forward] = [:]
    private var leaving = false

    private struct Rumour: Sendable {
        let update: Update
        var transmits: Int
    }

    private struct Probe: Sendable {
        let target: NodeID
        let seq: UInt32
        let timeoutAt: UInt64
        var indirect = false
        var acked = false
        /// Members asked to ping the target (their acks count).
        var helpers: [NodeID] = []
    }

    private struct Forward: Sendable {
        let requester: PeerAddress
        let requesterID: NodeID
        let seq: UInt32
        /// The rumours the ping-req carried.
        let carried: [Update]
        let deadline: UInt64
    }

    /// - Parameters:
    ///   - incarnation: start above any incarnation this node used before
    ///     (the shell uses the Unix time), so a restarted node is believed.
    ///   - seed: for the random choices (probe order, gossip targets).
    public init(id: NodeID, address: PeerAddress, incarnation: UInt64, metadata: [UInt8] = [],
                settings: SWIMSettings = SWIMSettings(), seed: UInt64, now: UInt64) {
        self.settings = settings
        me = Member(id: id, address: address, incarnation: incarnation, status: .alive, metadata: metadata)
        rng = SplitMix64(seed: seed)
        nextProbeAt = now + settings.probeInterval
        rounds = GossipRounds(interval: settings.gossipInterval, freshDelay: settings.freshRumourDelay,
                              firstAt: now + settings.gossipInterval)
    }

    // MARK: - Queries

    /// Every other member, in id order.
    public var members: [Member] { table.ids.map { table[$0]! } }

    public func member(_ id: NodeID) -> Member? { table[id] }

    /// Members currently alive or suspect, this node excluded.
    public var liveCount: Int { table.ids.filter { isLive(table[$0]!) }.count }

    /// The earliest time `tick` has work to do.
    public var nextDeadline: UInt64 {
        var t = min(nextProbeAt, rounds.deadline)
        if let probe, !probe.acked, !probe.indirect { t = min(t, probe.timeoutAt) }
        for f in forwards.values { t = min(t, f.deadline) }
        if let earliest = suspectedAt.earliest { t = min(t, earliest + suspicionTimeout) }
        return t
    }

    /// Rumours still to be sent (for tests and metrics).
    public var pendingRumours: Int { rumours.count }
    /// Members declared dead that reconnects still try.
    public var reconnectTargets: Int { failed.count }

    // MARK: - Commands

    /// Asks seeds for their full state (the shell sends it over TCP).
    public mutating func join(_ seeds: [PeerAddress]) -> [Directive] {
        // As memberlist does, the joining node also spreads its own alive rumour: members that
        // declared an earlier life of it dead hear it is back from it, not only from the seed.
        enqueue(aliveUpdate(me))
        return seeds.filter { $0 != me.address }.map { .send(.pushPull(from: me.id, isRequest: true, state: fullState()), to: $0) }
    }

    /// Learns members without spreading rumours about them: for a simulated
    /// fleet that starts converged (a real node learns by push-pull, whose
    /// updates are also passed on as rumours).
    public mutating func preload(_ updates: [Update], now: UInt64) {
        for update in updates { _ = apply(update, now: now) }
        rumours.removeAll()
        rounds.clearFresh()
    }

    /// ``preload(_:now:)`` from members many simulated nodes share (held once, not per node).
    public mutating func preload(shared: SharedMembers) {
        table = MemberTable(base: shared, excluding: me.id)
    }

    /// Up to `count` random live members, for rumours the shell spreads itself (notices).
    public mutating func randomLiveMembers(_ count: Int) -> [Member] {
        randomMembers(count, excluding: []).map { table[$0]! }
    }

    /// Everything this node knows, itself first: for push-pull. Suspects are
    /// sent as alive at their incarnation (the receiver forms its own suspicion).
    public func fullState() -> [Update] {
        [aliveUpdate(me)] + members.map(Self.update(for:))
    }

    /// A push-pull request for one random live member: the shell calls this
    /// every push-pull interval (anti-entropy, so a node that missed rumours converges).
    public mutating func pushPullTarget() -> [Directive] {
        guard let target = randomMembers(1, excluding: []).first else { return [] }
        return [.send(.pushPull(from: me.id, isRequest: true, state: fullState()), to: table[target]!.address)]
    }

    /// A push-pull to one member declared dead within ``SWIMSettings/reconnectFor`` (chosen by
    /// the seeded generator): if it is alive after all (a healed partition), the exchange tells
    /// each side the other is alive, and both refute with a higher incarnation.
    public mutating func reconnectTarget(now: UInt64) -> [Directive] {
        for id in failed.keys.sorted() where now >= failed[id]!.since &+ settings.reconnectFor { failed[id] = nil }
        let ids = failed.keys.sorted()
        guard !ids.isEmpty else { return [] }
        let target = ids[Int(rng.next() % UInt64(ids.count))]
        return [.send(.pushPull(from: me.id, isRequest: true, state: fullState()), to: failed[target]!.address)]
    }

    /// Publishes new metadata: a higher incarnation, spread as a rumour.
    public mutating func setMetadata(_ metadata: [UInt8]) -> [Directive] {
        precondition(metadata.count <= Update.maxMetadataBytes, "metadata over \(Update.maxMetadataBytes) bytes")
        me.metadata = metadata
        // Saturates: at the ceiling (reached only through forged rumours) the change is still
        // spread, and members that already hold that incarnation keep the old metadata.
        me.incarnation = min(me.incarnation, Update.maxIncarnation - 1) + 1
        enqueue(aliveUpdate(me))
        return []
    }

    /// Leaves gracefully: the `left` rumour goes to a few members at once.
    public mutating func leave() -> [Directive] {
        leaving = true
        me.status = .left
        let update = Update.left(id: me.id, incarnation: me.incarnation)
        enqueue(update)
        return randomMembers(settings.gossipFanout, excluding: []).map {
            .send(.gossip(from: me.id, updates: [update]), to: table[$0]!.address)
        }
    }

    // MARK: - Events

    public mutating func receive(_ message: Message, from sender: PeerAddress, now: UInt64) -> [Directive] {
        var out: [Directive] = []
        var updates = message.updates
        if case .pushPull = message {
            // Full state can be old news (a member across a healed partition): as memberlist
            // does, another's "dead" only makes a live member suspect here, so it has the
            // suspicion time-out to refute instead of being declared dead at once.
            updates = updates.map { u in
                if case .dead(let id, let incarnation, let by) = u, id != me.id, let m = table[id], m.status == .alive || m.status == .suspect {
                    return .suspect(id: id, incarnation: incarnation, by: by)
                }
                return u
            }
        }
        for update in updates { out += apply(update, now: now) }
        switch message {
        case .ping(let seq, let from, let carried):
            out.append(.send(.ack(seq: seq, from: me.id, updates: piggyback(to: sender, id: from, brought: carried)), to: sender))
        case .ack(let seq, let from, _):
            // Only the member probed, or one asked to probe it, acks a probe: an ack from
            // anyone else is no sign of life (a forger would keep dead members alive).
            if var p = probe, p.seq == seq, from == p.target || p.helpers.contains(from) {
                p.acked = true
                probe = p
                localHealth = max(0, localHealth - 1)
            } else if let forward = forwards.removeValue(forKey: seq) {
                out.append(.send(.ack(seq: forward.seq, from: me.id, updates: piggyback(to: forward.requester, id: forward.requesterID, brought: forward.carried)), to: forward.requester))
            }
        case .pingReq(let seq, let from, let target, let carried):
            // Bounded: each is a deadline to keep, and anyone can ask.
            guard forwards.count < Self.maxForwards else { break }
            let mine = nextSequence()
            forwards[mine] = Forward(requester: sender, requesterID: from, seq: seq, carried: carried,
                                     deadline: now + scaled(settings.probeTimeout))
            // No rumours on it: the asker names the address, and a ping carrying a full
            // datagram of rumours to any address it likes would make this node a reflector.
            out.append(.send(.ping(seq: mine, from: me.id, updates: []), to: target))
        case .nack, .gossip, .notice:
            break
        case .pushPull(_, let isRequest, _):
            if isRequest { out.append(.send(.pushPull(from: me.id, isRequest: false, state: fullState()), to: sender)) }
        }
        // The next deadline is asked for after every message: ended suspicions leave the front.
        suspectedAt.prune()
        goneAt.prune()
        return out
    }

    /// Drives probes, time-outs, suspicions and the gossip tick.
    public mutating func tick(now: UInt64) -> [Directive] {
        var out: [Directive] = []
        for seq in forwards.keys.sorted() where forwards[seq]!.deadline <= now {
            let forward = forwards.removeValue(forKey: seq)!
            out.append(.send(.nack(seq: forward.seq, from: me.id, updates: piggyback(to: forward.requester, id: forward.requesterID, brought: forward.carried)), to: forward.requester))
        }
        if var p = probe, !p.acked, !p.indirect, now >= p.timeoutAt {
            p.indirect = true
            if let target = table[p.target] {
                p.helpers = randomMembers(settings.indirectProbes, excluding: [p.target])
                for helper in p.helpers {
                    out.append(.send(.pingReq(seq: p.seq, from: me.id, target: target.address, updates: piggyback()), to: table[helper]!.address))
                }
            }
            probe = p
        }
        if now >= nextProbeAt, leaving {
            nextProbeAt = now + settings.probeInterval
        } else if now >= nextProbeAt {
            if let p = probe, !p.acked {
                localHealth = min(settings.maxLocalHealth, localHealth + 1)
                if let target = table[p.target], target.status == .alive {
                    out += apply(.suspect(id: target.id, incarnation: target.incarnation, by: me.id), now: now)
                }
            }
            probe = nil
            nextProbeAt = now + scaled(settings.probeInterval)
            if let target = nextProbeTarget() {
                let seq = nextSequence()
                probe = Probe(target: target, seq: seq, timeoutAt: now + scaled(settings.probeTimeout))
                out.append(.send(.ping(seq: seq, from: me.id, updates: piggyback()), to: table[target]!.address))
            }
        }
        // Only the suspicions and departures due are visited, earliest first, not the table.
        if now >= suspicionTimeout {
            for id in suspectedAt.due(atOrBefore: now - suspicionTimeout) {
                guard let m = table[id] else { continue }
                out += apply(.dead(id: id, incarnation: m.incarnation, by: me.id), now: now)
            }
        }
        if now >= settings.deadRetention {
            for id in goneAt.due(atOrBefore: now - settings.deadRetention) { forget(id) }
        }
        suspectedAt.prune()
        goneAt.prune()
        if rounds.take(now: now) {
            if !rumours.isEmpty {
                for target in randomMembers(settings.gossipFanout, excluding: []) {
                    let updates = piggyback()
                    if updates.isEmpty { break }
                    out.append(.send(.gossip(from: me.id, updates: updates), to: table[target]!.address))
                }
            }
        }
        return out
    }

    // MARK: - Rules

    private mutating func apply(_ update: Update, now: UInt64) -> [Directive] {
        if update.id == me.id { return refute(update) }
        let known = table[update.id]
        switch update {
        case .alive(let id, let incarnation, let address, let metadata):
            if let m = known, incarnation <= m.incarnation { return [] }
            if known == nil, table.count >= settings.maxMembers { return [] }
            let member = Member(id: id, address: address, incarnation: incarnation, status: .alive, metadata: metadata)
            table.set(member)
            suspectedAt.remove(id)
            goneAt.remove(id)
            failed[id] = nil
            enqueue(update)
            return [.changed(member)]
        case .suspect(let id, let incarnation, _):
            guard var m = known, incarnation >= m.incarnation else { return [] }
            switch m.status {
            case .alive:
                suspectedAt.set(id, at: now)
            case .suspect where incarnation > m.incarnation:
                break
            default:
                return []
            }
            m.status = .suspect
            m.incarnation = incarnation
            table.set(m)
            enqueue(update)
            return [.changed(m)]
        case .dead(let id, let incarnation, _), .left(let id, let incarnation):
            guard var m = known, incarnation >= m.incarnation, m.status != .dead, m.status != .left else { return [] }
            if case .left = update { m.status = .left } else { m.status = .dead }
            // Left members are retried as dead ones are: without a fleet key anyone can say a
            // member left, at an incarnation it cannot outbid, and a member nobody retries
            // would stay out for good. Bounded: made-up members would otherwise outlive the
            // table's own bound (they are kept for reconnects long after they are forgotten).
            // One push-pull that reaches the other side heals a partition.
            if failed[id] != nil || failed.count < Self.maxReconnectTargets { failed[id] = (m.address, now) }
            m.incarnation = incarnation
            table.set(m)
            suspectedAt.remove(id)
            goneAt.set(id, at: now)
            enqueue(update)
            return [.changed(m)]
        }
    }

    /// A rumour about this node: suspicions, deaths and departures (this node is not
    /// leaving) are refuted with a higher incarnation; an older or equal `alive` needs
    /// nothing. A rumour at
    /// ``Update/maxIncarnation`` cannot be outbid and is left alone: only a forger puts
    /// one there, and a trap would let one datagram kill the node.
    private mutating func refute(_ update: Update) -> [Directive] {
        guard update.incarnation < Update.maxIncarnation else { return [] }
        switch update {
        case .suspect, .dead, .left:
            guard !leaving, update.incarnation >= me.incarnation else { return [] }
            localHealth = min(settings.maxLocalHealth, localHealth + 1)
        case .alive where update.incarnation > me.incarnation:
            break  // an older life of this node, from before a restart
        default:
            return []
        }
        me.incarnation = update.incarnation + 1
        enqueue(aliveUpdate(me))
        return []
    }

    // MARK: - Rumours

    /// Rumours waiting to be sent at most: anyone can make up members, and each new one is a
    /// rumour; past this the one about another member sent most so far goes (anti-entropy's
    /// push-pulls still carry every member; this node's own, a refutation, always stays), so
    /// no flood makes each message's pick or each update's dedupe long.
    public static let maxRumours = 1024

    private mutating func enqueue(_ update: Update) {
        rumours.removeAll { $0.update.id == update.id }
        let me = me.id
        if rumours.count >= Self.maxRumours,
           let most = rumours.indices.filter({ rumours[$0].update.id != me }).max(by: { rumours[$0].transmits < rumours[$1].transmits }) {
            rumours.remove(at: most)
        }
        rumours.append(Rumour(update: update, transmits: 0))
        rounds.markFresh()
    }

    /// Ping-reqs being forwarded for others at most (past this, a ping-req goes unanswered:
    /// its asker takes the silence as the probe's failure, as it would a lost packet).
    public static let maxForwards = 256

    /// Dead members remembered for reconnects (``SWIMSettings/reconnectFor``) at most.
    public static let maxReconnectTargets = 1024

    /// The rumours sent least so far, oldest first among equals; this node's own first of all
    /// (a refutation must not wait behind a flood of other members' news).
    private mutating func piggyback(maxBytes: Int = .max) -> [Update] {
        guard !rumours.isEmpty, maxBytes > 0 else { return [] }
        let limit = retransmitLimit
        let me = me.id
        func key(_ i: Int) -> (Int, Int, Int) { (rumours[i].update.id == me ? 0 : 1, rumours[i].transmits, i) }
        let chosen = rumours.indices.sorted { key($0) < key($1) }.prefix(settings.maxPiggyback)
        var updates: [Update] = []
        var room = maxBytes
        for i in chosen {
            if maxBytes < .max {
                let size = GossipCodec.encode(rumours[i].update).count
                guard size <= room else { continue }
                room -= size
            }
            updates.append(rumours[i].update)
            rumours[i].transmits += 1
        }
        rumours.removeAll { $0.transmits >= limit }
        return updates
    }

    /// Rumours for an answer to `address`, which says it is `id`: as many as fit for a live
    /// member at that address; for anyone else at most as many bytes of rumours as its own
    /// message brought. An answer goes wherever the datagram says it came from, so
    /// a spoofed one must get back no more than it carried, or this node would be a reflector;
    /// and a member this node has not heard of yet still gets its news when it brings some
    /// (a ping from a member often carries that member's own news first), which is how a node
    /// missing from another's table still hears from it.
    private mutating func piggyback(to address: PeerAddress, id: NodeID, brought: [Update]) -> [Update] {
        if let m = table[id], isLive(m), m.address == address { return piggyback() }
        return piggyback(maxBytes: brought.reduce(0) { $0 + GossipCodec.encode($1).count })
    }

    /// Sends of each rumour: `retransmitMultiplier * ceil(log10(n + 1))`, as memberlist, but
    /// never fewer than two log-units' worth. With 9 members or fewer the formula gives 4
    /// sends per holder, and 4 random picks among 8 others miss a given member 58% of the
    /// time, so now and then every holder missed one and it heard the news only at the next
    /// push-pull (docs/gossip.md). Fleets of 10 and more are unchanged.
    public var retransmitLimit: Int {
        settings.retransmitMultiplier * max(2, Self.ceilLog10(table.count + 2))
    }

    public var suspicionTimeout: UInt64 {
        UInt64(settings.suspicionMultiplier * max(1, Self.ceilLog10(table.count + 1))) * settings.probeInterval
    }

    static func ceilLog10(_ n: Int) -> Int {
        var digits = 0
        var value = max(1, n - 1)
        while value > 0 {
            digits += 1
            value /= 10
        }
        return digits
    }

    // MARK: - Helpers

    private func scaled(_ duration: UInt64) -> UInt64 { duration * UInt64(localHealth + 1) }

    private func isLive(_ m: Member) -> Bool { m.status == .alive || m.status == .suspect }

    private mutating func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    /// Round-robin over the members in a random order, as SWIM asks (each member probed once a
    /// round), without a per-node copy of the table: a random start and a stride coprime to
    /// the number of slots visit every slot once.
    private mutating func nextProbeTarget() -> NodeID? {
        for _ in 0..<2 {
            if probeRound.slots == table.slots {
                while probeRound.next < probeRound.slots {
                    let slot = (probeRound.start + probeRound.next * probeRound.stride) % probeRound.slots
                    probeRound.next += 1
                    if let id = table.id(atSlot: slot), let m = table[id], isLive(m) { return id }
                }
            }
            let slots = table.slots
            guard slots > 0 else { return nil }
            var stride = 1
            if slots > 2 {
                repeat { stride = 1 + Int(rng.next() % UInt64(slots - 1)) } while Self.gcd(stride, slots) != 1
            }
            probeRound = (Int(rng.next() % UInt64(slots)), stride, 0, slots)
        }
        return nil
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// `count` distinct random live members not in `excluding`: drawn by slot when the table
    /// is large (no walk over it), else picked from the whole list.
    private mutating func randomMembers(_ count: Int, excluding: Set<NodeID>) -> [NodeID] {
        let slots = table.slots
        if slots > 8 * count + 64 {
            var picked: [NodeID] = []
            var draws = 16 * count + 64
            while picked.count < count && draws > 0 {
                draws -= 1
                guard let id = table.id(atSlot: Int(rng.next() % UInt64(slots))), !excluding.contains(id), !picked.contains(id),
                      let m = table[id], isLive(m) else { continue }
                picked.append(id)
            }
            if picked.count == count { return picked }
        }
        var candidates = table.ids.filter { !excluding.contains($0) && isLive(table[$0]!) }
        candidates.shuffle(using: &rng)
        return Array(candidates.prefix(count))
    }

    private mutating func forget(_ id: NodeID) {
        table.remove(id)
        goneAt.remove(id)
        suspectedAt.remove(id)
    }

    private func aliveUpdate(_ m: Member) -> Update {
        .alive(id: m.id, incarnation: m.incarnation, address: m.address, metadata: m.metadata)
    }

    static func update(for m: Member) -> Update {
        switch m.status {
        case .alive, .suspect: return .alive(id: m.id, incarnation: m.incarnation, address: m.address, metadata: m.metadata)
        case .dead: return .dead(id: m.id, incarnation: m.incarnation, by: m.id)
        case .left: return .left(id: m.id, incarnation: m.incarnation)
        }
    }
}
