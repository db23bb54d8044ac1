import Gossip

/// ``FuzzCheck/swimSequence``: the fuzzer's bytes become a run of one ``SWIMMembership``: messages
/// (built from a few choices, or raw datagram and stream bytes) that reach it only through
/// ``GossipCodec``'s decoder, as in the node, interleaved with the passing of time and the
/// shell's commands.
///
/// Properties, checked after every step (a run is at most ``maxSteps`` steps):
/// - nothing traps;
/// - every message the node sends encodes and decodes back (a datagram keeping a subsequence of
///   its rumours, the ones that fit), so the node never says what its peers must refuse;
/// - after `tick(now:)`, `nextDeadline` is after `now` (a shell ticking at the deadline moves
///   on), and it is never more than the longest probe interval away;
/// - memory is bounded by what was received: at most one member per id heard of, one rumour per
///   id (and this node's own);
/// - SWIM's ordering: a member's incarnation never goes down while it is known, a dead or left
///   member comes back only at a higher incarnation, this node is never its own member, its
///   incarnation never goes down, and it is `left` exactly when it left.
enum SwimSequenceCheck {
    static let maxSteps = 256
    static let me = NodeID(high: 0, low: 1)
    static let myAddress = PeerAddress(host: "10.0.0.1", port: 7946)
    /// The others the structured messages speak of.
    static let pool: [NodeID] = (2...9).map { NodeID(high: 0, low: UInt64($0)) }
    static let addresses: [PeerAddress] = (2...7).map { PeerAddress(host: "10.0.0.\($0)", port: 7946) }
        + [PeerAddress(host: "fe80::1", port: 1), PeerAddress(host: String(repeating: "h", count: 255), port: 65535)]
    /// Time steps, in nanoseconds: around each of the protocol's intervals.
    static let advances: [UInt64] = [0, 1_000_000, 19_000_000, 20_000_000, 100_000_000, 200_000_000, 500_000_000,
                                     1_000_000_000, 2_500_000_000, 10_000_000_000, 61_000_000_000, 3_601_000_000_000]

    static func run(_ bytes: [UInt8]) -> FuzzCheck.Outcome {
        var input = FuzzInput(bytes)
        var settings = SWIMSettings()
        let flags = input.byte()
        if flags & 1 != 0 {
            settings.deadRetention = 3_000_000_000
            settings.reconnectFor = 5_000_000_000
        }
        if flags & 2 != 0 {
            settings.maxPiggyback = 2
            settings.gossipFanout = 1
            settings.indirectProbes = 1
        }
        var now: UInt64 = 1_000_000_000_000
        var swim = SWIMMembership(id: me, address: myAddress, incarnation: 1_000 + UInt64(input.byte()),
                                  settings: settings, seed: UInt64(input.u16()), now: now)
        var watch = Watch(incarnation: swim.me.incarnation)
        var delivered = false
        var steps = 0
        while !input.isEmpty, steps < maxSteps {
            steps += 1
            var out: [SWIMMembership.Directive] = []
            var ticked = false
            switch input.byte() % 12 {
            case 0, 1:
                // A message built from choices, passed through the codec as the node receives it.
                let built = message(&input)
                let sender = input.pick(addresses)
                let decoded: Message?
                if case .pushPull = built {
                    decoded = try? GossipCodec.decodeStream(GossipCodec.encodeStream(built))
                } else {
                    decoded = try? GossipCodec.decodeDatagram(GossipCodec.encodeDatagram(built))
                }
                guard let decoded else { continue }
                watch.heard(decoded)
                delivered = true
                out = swim.receive(decoded, from: sender, now: now)
            case 2:
                let raw = input.bytes(Int(input.u16()) % (GossipCodec.maxDatagram + 64))
                guard let decoded = try? GossipCodec.decodeDatagram(raw) else { continue }
                watch.heard(decoded)
                delivered = true
                out = swim.receive(decoded, from: input.pick(addresses), now: now)
            case 3:
                let raw = input.bytes(Int(input.u16()) % 8192)
                guard let decoded = try? GossipCodec.decodeStream(raw) else { continue }
                watch.heard(decoded)
                delivered = true
                out = swim.receive(decoded, from: input.pick(addresses), now: now)
            case 4, 5:
                let step = input.below(advances.count + 1)
                now += step < advances.count ? advances[step] : UInt64(input.u32())
                out = swim.tick(now: now)
                ticked = true
            case 6:
                // As the shell does: wake at the deadline.
                now = max(now, min(swim.nextDeadline, now + 3_601_000_000_000))
                out = swim.tick(now: now)
                ticked = true
            case 7:
                // The shell keeps metadata within the limit (setMetadata's precondition).
                out = swim.setMetadata(input.bytes(Int(input.u16()) % (Update.maxMetadataBytes + 1)))
            case 8:
                out = swim.join((0..<input.below(4)).map { _ in input.pick(addresses + [myAddress]) })
            case 9:
                out = swim.leave()
                watch.left = true
            case 10:
                out = swim.pushPullTarget()
            default:
                out = swim.reconnectTarget(now: now)
            }
            if let failure = watch.check(swim, out, now: now, ticked: ticked) {
                return FuzzCheck.Outcome(decoded: true, failure: "step \(steps): \(failure)")
            }
        }
        return FuzzCheck.Outcome(decoded: delivered)
    }

    // MARK: - Building messages

    static func message(_ input: inout FuzzInput) -> Message {
        let kind = input.byte()
        let seq = kind & 0x80 != 0 ? input.u32() : UInt32(input.byte() % 8)
        let from = input.pick(pool)
        let count = input.below(kind % 7 == 5 ? 12 : 9)
        let updates = (0..<count).map { _ in update(&input) }
        switch kind % 7 {
        case 0: return .ping(seq: seq, from: from, updates: updates)
        case 1: return .ack(seq: seq, from: from, updates: updates)
        case 2: return .pingReq(seq: seq, from: from, target: input.pick(addresses), updates: updates)
        case 3: return .nack(seq: seq, from: from, updates: updates)
        case 4: return .gossip(from: from, updates: updates)
        case 5: return .pushPull(from: from, isRequest: kind & 0x40 != 0, state: updates)
        default: return .notice(from: from, body: input.bytes(input.below(64)))
        }
    }

    static func update(_ input: inout FuzzInput) -> Update {
        let b = input.byte()
        let id = b & 0x08 != 0 ? me : pool[Int(b & 7)]
        let incarnation = self.incarnation(&input)
        switch (b >> 4) % 4 {
        case 0:
            let metadata = input.bytes(b & 0x40 != 0 ? Update.maxMetadataBytes : input.below(16))
            return .alive(id: id, incarnation: incarnation, address: input.pick(addresses), metadata: metadata)
        case 1: return .suspect(id: id, incarnation: incarnation, by: input.pick(pool))
        case 2: return .dead(id: id, incarnation: incarnation, by: input.pick(pool))
        default: return .left(id: id, incarnation: incarnation)
        }
    }

    /// Mostly near this node's own start (1000...1255), sometimes anything, or the very top.
    static func incarnation(_ input: inout FuzzInput) -> UInt64 {
        let c = input.byte()
        switch c % 8 {
        case 0..<5: return 995 + UInt64(c >> 3)
        case 5: return input.u64()
        case 6: return UInt64.max - UInt64(c >> 3)
        default: return (1 << 62) - 2 + UInt64(c >> 3 & 3)
        }
    }

    // MARK: - Properties

    /// What the run has seen so far, against which each step is checked.
    struct Watch {
        /// Ids heard of in decoded rumours (this node's own excluded).
        var heardOf: Set<NodeID> = []
        /// The members after the last step.
        var previous: [NodeID: Member] = [:]
        var incarnation: UInt64
        var left = false

        init(incarnation: UInt64) { self.incarnation = incarnation }

        mutating func heard(_ message: Message) {
            for update in message.updates where update.id != SwimSequenceCheck.me { heardOf.insert(update.id) }
        }

        mutating func check(_ swim: SWIMMembership, _ out: [SWIMMembership.Directive], now: UInt64, ticked: Bool) -> String? {
            var changed: [Member] = []
            for directive in out {
                switch directive {
                case .send(let message, _):
                    if let problem = SwimSequenceCheck.wireProblem(message) { return problem }
                case .changed(let member):
                    if member.id == SwimSequenceCheck.me { return "reported itself as a changed member: \(member)" }
                    changed.removeAll { $0.id == member.id }
                    changed.append(member)
                }
            }
            for member in changed where swim.member(member.id) != member {
                return "reported \(member) changed, but holds \(String(describing: swim.member(member.id)))"
            }
            let members = swim.members
            if members.count > heardOf.count { return "\(members.count) members after hearing of \(heardOf.count) ids" }
            if swim.pendingRumours > heardOf.count + 1 { return "\(swim.pendingRumours) rumours after hearing of \(heardOf.count) ids" }
            if swim.liveCount > members.count { return "liveCount \(swim.liveCount) above \(members.count) members" }
            var next: [NodeID: Member] = [:]
            var last: NodeID?
            for m in members {
                if m.id == SwimSequenceCheck.me { return "this node is its own member" }
                if let last, !(last < m.id) { return "members not in ascending id order" }
                last = m.id
                next[m.id] = m
                guard let before = previous[m.id] else { continue }
                if m.incarnation < before.incarnation {
                    return "\(m.id.short)'s incarnation went down: \(before.incarnation) -> \(m.incarnation)"
                }
                let wasGone = before.status == .dead || before.status == .left
                let isLive = m.status == .alive || m.status == .suspect
                if wasGone, isLive, m.incarnation <= before.incarnation {
                    return "\(m.id.short) came back from \(before.status) at the same incarnation \(m.incarnation)"
                }
            }
            previous = next
            let me = swim.me
            if me.id != SwimSequenceCheck.me { return "this node's id changed" }
            if me.incarnation < incarnation { return "this node's incarnation went down: \(incarnation) -> \(me.incarnation)" }
            incarnation = me.incarnation
            if me.status != (left ? .left : .alive) { return "this node is \(me.status) (left: \(left))" }
            let deadline = swim.nextDeadline
            if ticked, deadline <= now { return "after tick(\(now)) the next deadline is \(deadline): a shell would spin" }
            let longest = UInt64(swim.settings.maxLocalHealth + 1) * swim.settings.probeInterval
            if deadline > now + longest { return "the next deadline is \(deadline - now) ns away, over \(longest)" }
            return nil
        }
    }

    /// Why `message`, which the node sends, would not reach a peer as sent, if it would not.
    static func wireProblem(_ message: Message) -> String? {
        if case .pushPull = message {
            let back = try? GossipCodec.decodeStream(GossipCodec.encodeStream(message))
            return back == message ? nil : "push-pull the node sends does not survive the codec: \(message)"
        }
        let bytes = GossipCodec.encodeDatagram(message)
        if bytes.count > GossipCodec.maxDatagram { return "a datagram of \(bytes.count) bytes" }
        let back: Message
        do { back = try GossipCodec.decodeDatagram(bytes) } catch {
            return "a datagram the node sends does not decode (\(error)): \(message)"
        }
        guard back.withoutUpdates == message.withoutUpdates, isSubsequence(back.updates, of: message.updates) else {
            return "a datagram the node sends changes in the codec: \(message) -> \(back)"
        }
        return nil
    }

    static func isSubsequence(_ part: [Update], of whole: [Update]) -> Bool {
        var i = 0
        for u in whole where i < part.count && u == part[i] { i += 1 }
        return i == part.count
    }
}

private extension Message {
    /// The message with its rumours left out (what must survive a datagram's truncation whole).
    var withoutUpdates: Message {
        switch self {
        case .ping(let seq, let from, _): return .ping(seq: seq, from: from, updates: [])
        case .ack(let seq, let from, _): return .ack(seq: seq, from: from, updates: [])
        case .pingReq(let seq, let from, let target, _): return .pingReq(seq: seq, from: from, target: target, updates: [])
        case .nack(let seq, let from, _): return .nack(seq: seq, from: from, updates: [])
        case .gossip(let from, _): return .gossip(from: from, updates: [])
        case .pushPull(let from, let isRequest, _): return .pushPull(from: from, isRequest: isRequest, state: [])
        case .notice: return self
        }
    }
}
