import BundlecastCore
import Gossip
import NIOCore

/// Packets in, and the notices gossip carries (spread in rounds, filtered on the way in).
extension GossipRuntime {
    func receiveDatagram(_ raw: [UInt8], from remote: SocketAddress) {
        state.withLock {
            $0.counters.datagramsIn += 1
            $0.counters.bytesIn += raw.count
        }
        guard raw.count <= datagramLimit else { return count(\.droppedOversized) }
        guard let payload = unseal(raw) else { return count(\.droppedUnauthenticated) }
        guard let host = remote.ipAddress, let port = remote.port else { return count(\.droppedMalformed) }
        let message: Message
        do { message = try GossipCodec.decodeDatagram(payload) } catch { return count(\.droppedMalformed) }
        let sender = PeerAddress(host: host, port: UInt16(port))
        if let partition = settings.partition, partition.blocks(sender) { return }
        if case .notice(_, let body) = message { return receiveNotice(body, from: sender) }
        let now = Self.now()
        perform(state.withLock { $0.swim.receive(message, from: sender, now: now) })
    }

    /// A push-pull frame in; the answer frame out (sealed), if any.
    func receiveStream(_ raw: [UInt8], from remote: SocketAddress?) -> [UInt8]? {
        count(\.pushPulls)
        guard let payload = unseal(raw) else {
            count(\.droppedUnauthenticated)
            return nil
        }
        guard let message = try? GossipCodec.decodeStream(payload), case .pushPull(_, _, let state) = message else {
            count(\.droppedMalformed)
            return nil
        }
        let now = Self.now()
        let sender = state.first.flatMap { if case .alive(_, _, let a, _) = $0 { return a }; return nil }
            ?? PeerAddress(host: remote?.ipAddress ?? "0.0.0.0", port: UInt16(remote?.port ?? 0))
        if let partition = settings.partition, partition.blocks(sender) { return nil }
        let directives = self.state.withLock { $0.swim.receive(message, from: sender, now: now) }
        var reply: [UInt8]?
        var rest: [SWIMMembership.Directive] = []
        for directive in directives {
            if case .send(let m, let to) = directive, case .pushPull(_, false, _) = m, to == sender {
                reply = seal(GossipCodec.encodeStream(m))
            } else {
                rest.append(directive)
            }
        }
        perform(rest)
        return reply
    }

    // MARK: - Notices

    /// Starts spreading a notice or rotation statement this node accepted (it must fit a datagram).
    public func spread(notice body: [UInt8]) {
        guard body.count + 64 <= GossipCodec.maxDatagram else {
            logger.warning("notice of \(body.count) bytes does not fit a gossip datagram; not spread")
            return
        }
        state.withLock { _ = $0.notices.add(body) }
        arm()
    }

    /// Sends signed bytes (a notice or a rotation statement) to one member at once, outside
    /// the rumour rounds: how a member that lags gets what it missed.
    public func send(notice body: [UInt8], to target: PeerAddress) {
        guard body.count + 64 <= GossipCodec.maxDatagram else { return }
        sendDatagram(.notice(from: me.id, body: body), to: target)
    }

    /// Signed bytes from a peer: past the repeat filter (``NoticeFilter``), checked off the
    /// event loop, and spread on when accepted.
    private func receiveNotice(_ body: [UInt8], from sender: PeerAddress) {
        guard let digest = NoticeFilter.digest(of: body) else {
            guard admitNoticeCheck() else { return }
            noticeWork.async {
                defer { self.noticeChecks.subtract(1, ordering: .relaxed) }
                if self.onNotice(body, sender) == .accepted { self.spread(notice: body) }
            }
            return
        }
        guard state.withLock({ $0.seen.admit(digest) }) else { return }
        guard admitNoticeCheck() else {
            state.withLock { $0.seen.forget(digest) }
            return
        }
        noticeWork.async {
            defer { self.noticeChecks.subtract(1, ordering: .relaxed) }
            switch self.onNotice(body, sender) {
            case .accepted: self.spread(notice: body)
            case .known: break
            case .refused: self.state.withLock { $0.seen.forget(digest) }
            }
        }
    }

    /// Takes a place in the queue of signature checks; false (counted) when it is full. Each
    /// check is an Ed25519 verification, and datagrams come faster than that from anyone who
    /// can reach the port: past the bound they are dropped, not queued without end. Honest
    /// notices come again (rounds, catch-up, the origin), so a drop delays, never loses.
    private func admitNoticeCheck() -> Bool {
        guard noticeChecks.add(1, ordering: .relaxed).newValue <= Self.maxNoticeChecks else {
            noticeChecks.subtract(1, ordering: .relaxed)
            state.withLock { $0.counters.droppedBusy? += 1 }
            return false
        }
        return true
    }

    /// One round of the notices being spread, to `gossipFanout` random live members.
    func gossipNotices(now: UInt64) {
        let round = state.withLock { s -> (batch: [[UInt8]], targets: [PeerAddress], me: NodeID)? in
            guard s.notices.nextDeadline <= now else { return nil }
            var live = s.swim.members.filter { $0.status == .alive || $0.status == .suspect }.map(\.address)
            guard !live.isEmpty else {
                // Alone: the notices wait a round (else the runtime would wake for them at once, again and again).
                s.notices.postpone(now: now)
                return nil
            }
            live.shuffle()
            let targets = Array(live.prefix(s.swim.settings.gossipFanout))
            return (s.notices.round(now: now, limit: s.swim.retransmitLimit), targets, s.swim.me.id)
        }
        guard let round else { return }
        for body in round.batch {
            for target in round.targets { sendDatagram(.notice(from: round.me, body: body), to: target) }
        }
    }
}
