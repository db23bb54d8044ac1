import BundlecastCore
import Gossip
import NIOCore
import NIOExtras
import NIOPosix
import TransferWire

/// Connections: dialling, the handshake's admission, the links our requests go over, bans.
extension TransferNode {
    func setUp(_ channel: any Channel, expect: NodeID?) throws {
        // Anyone can open a connection: until its peer is proven it holds one of a bounded
        // number of slots (``UnprovenConnections``), given back on proof or close.
        var address: String?
        if expect == nil {
            // Counted by host: an IPv6 one by its /64 (``ClientAddressKey``).
            let from = channel.remoteAddress.flatMap(ClientAddressKey.init)?.text ?? "unknown"
            guard state.withLock({ $0.unproven.admit(from) }) else {
                count { $0.connectionsRefused += 1 }
                throw TransferError("too many transfer connections waiting to prove their id")
            }
            address = from
        }
        let connection = TransferConnection(expect: expect, unprovenAddress: address, eventLoop: channel.eventLoop)
        channel.closeFuture.whenComplete { [self] _ in returnUnprovenSlot(of: connection) }
        if superSeedsOnBackPressure {
            // The kernel takes little more than the link is sending, so a write that completes
            // means the link is free (``queueUpload(_:to:)``). A kernel without the option
            // leaves the seed judging by its own queue alone: still super-seeding, less sharply.
            do {
                try channel.syncOptions?.setOption(Self.notSentLowWater, value: Self.maxNotSent)
            } catch {
                logger.debug("cannot limit unsent bytes on a transfer socket: \(error)")
            }
        }
        // A peer that does not read what it asked for stops being read: its requests wait in
        // its own socket buffer, not in this node's memory.
        try channel.pipeline.syncOperations.addHandler(BackPressureHandler())
        if let fleetKey = settings.fleetKey {
            try channel.pipeline.syncOperations.addHandler(SecureTransferHandler(fleetKey: fleetKey, isClient: expect != nil, connection: connection) { [self] why in
                count { $0.badFrames += 1 }
                logger.info("closing transfer connection with \(channel.remoteAddress?.description ?? "?"): \(why)")
            })
        }
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TransferFrameDecoder(connection: connection, largeFrames: largeFrames)))
        // A connect that fails never becomes active: the hello promise must not be left unfulfilled.
        channel.closeFuture.whenComplete { _ in connection.hello.fail(ChannelError.ioOnClosedChannel) }
        try channel.pipeline.syncOperations.addHandler(TransferHandler(node: self, connection: connection))
        // A peer that stops reading what it asked for is dropped, and so is one that has gone
        // silent (the handshake's deadline starts at the connect: ``TransferHandler``).
        let stallCheck = channel.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(5)) { [self] _ in
            let now = NIODeadline.now().uptimeNanoseconds
            if connection.isStalled(now: now) {
                logger.info("closing transfer connection with \(connection.remote?.short ?? "?"): it has not read for \(TransferConnection.stallTimeout / 1_000_000_000) s")
                channel.close(promise: nil)
            } else if connection.isLargeFrameOverdue(now: now) {
                logger.info("closing transfer connection with \(connection.remote?.short ?? "?"): its manifest frame has taken over \(TransferConnection.largeFrameDeadline / 1_000_000_000) s")
                channel.close(promise: nil)
            } else if connection.remote != nil, connection.isIdle(now: now) {
                logger.debug("closing transfer connection with \(connection.remote?.short ?? "?"): idle for \(TransferConnection.idleTimeout / 1_000_000_000) s")
                count { $0.idleClosed? += 1 }
                channel.close(promise: nil)
            }
        }
        channel.closeFuture.whenComplete { _ in stallCheck.cancel() }
    }

    /// The connection to a peer (dialled if there is none); succeeds once the peer said hello with the expected id.
    public func link(to peer: NodeID, at address: PeerAddress) -> EventLoopFuture<any Channel> {
        enum Found { case link(any Channel), dialing(EventLoopFuture<any Channel>), banned, none }
        let found = state.withLock { s -> Found in
            // Banned first: its link may not have finished closing yet.
            if s.bans.peers.contains(peer) { return .banned }
            if let channel = s.links[peer], channel.isActive { return .link(channel) }
            return s.dialing[peer].map { .dialing($0) } ?? .none
        }
        switch found {
        case .link(let channel): return channel.eventLoop.makeSucceededFuture(channel)
        case .dialing(let pending): return pending
        case .banned: return group.next().makeFailedFuture(TransferError("peer \(peer.short) is banned"))
        case .none: break
        }
        if settings.partition?.blocks(peer) == true { return group.next().makeFailedFuture(TransferError("peer \(peer.short) is cut off (test partition)")) }
        let node = self
        let future = ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: Self.waterMark)
            .channelOption(.recvAllocator, value: Self.reads)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try node.setUp(channel, expect: peer) } }
            .connect(host: address.host, port: Int(address.port))
            .flatMap { channel -> EventLoopFuture<any Channel> in
                // On the channel's own event loop (a connect completes there).
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.handler(type: TransferHandler.self).connection }
                    .flatMap { $0.hello.futureResult }
                    .map { _ in channel }
            }
        state.withLock { $0.dialing[peer] = future }
        future.whenComplete { _ in _ = node.state.withLock { $0.dialing.removeValue(forKey: peer) } }
        return future
    }

    /// An accepted connection's unproven slot goes back (its peer proved its id, or it closed).
    func returnUnprovenSlot(of connection: TransferConnection) {
        guard let address = connection.returnUnprovenSlot() else { return }
        state.withLock { $0.unproven.release(address) }
    }

    /// Connections this node keeps for its own dials: peers that dial in (anyone can make
    /// up identities) may take the rest, so a node whose inbound slots are full still
    /// reaches the sources its downloads need, and serves them over the same connections.
    var inboundLimit: Int { settings.maxConnections - settings.maxConnections / 4 }

    /// Called by a connection once the peer proved its id; false: refuse it (limits, banned).
    /// A registered connection is open (``State/open``) until ``unregistered(_:peer:connection:)``,
    /// and every peer with an open connection has a link.
    func registered(_ channel: any Channel, peer: NodeID, connection: TransferConnection, outbound: Bool) -> Bool {
        state.withLock { s in
            guard !s.bans.peers.contains(peer) else { return false }
            let room = s.connections < settings.maxConnections && (outbound || s.inbound < inboundLimit)
            guard room, s.connectionsByPeer[peer, default: 0] < settings.maxConnectionsPerPeer else {
                s.counters.connectionsRefused += 1
                return false
            }
            s.connections += 1
            if !outbound { s.inbound += 1 }
            s.connectionsByPeer[peer, default: 0] += 1
            if outbound { s.counters.connectionsOut += 1 } else { s.counters.connectionsIn += 1 }
            if s.links[peer]?.isActive != true || outbound { s.links[peer] = channel }
            s.open[ObjectIdentifier(channel)] = OpenConnection(channel: channel, connection: connection, peer: peer, outbound: outbound)
            return true
        }
    }

    func unregistered(_ channel: any Channel, peer: NodeID, connection: TransferConnection) {
        dropUploads(on: channel, to: peer)
        let dropped = connection.close().compactMap { item -> Upload? in if case .chunk(let upload) = item { upload } else { nil } }
        for upload in dropped { _ = connection.finish(upload.digest) }
        // Never sent: they hold no other requester off (super-seeding).
        if !dropped.isEmpty { state.withLock { s in for upload in dropped { s.uploads.seeding.unsent(upload.digest, to: peer) } } }
        let lostLink = state.withLock { s -> Bool in
            guard let open = s.open.removeValue(forKey: ObjectIdentifier(channel)) else { return false }
            s.connections -= 1
            if !open.outbound { s.inbound -= 1 }
            s.connectionsByPeer[peer, default: 1] -= 1
            if s.connectionsByPeer[peer] == 0 { s.connectionsByPeer[peer] = nil }
            guard s.links[peer] === channel else { return false }
            // The peer's other connection, if it has one, carries our requests from now on, so
            // a peer in a download always has a link. The downloads still hear of the loss:
            // what was asked over the closed one is asked again, and the peer rejoins when it
            // next asks or is asked.
            s.links[peer] = s.open.values.first(where: { $0.peer == peer && $0.channel.isActive })?.channel
            return true
        }
        if lostLink { delegate.transfer(lostLinkTo: peer) }
    }

    /// Test only: closes the open connections with these peers (a partition was just cut).
    func closeConnections(to peers: Set<NodeID>) {
        for open in state.withLock({ Array($0.open.values) }) where peers.contains(open.peer) {
            open.channel.close(promise: nil)
        }
    }

    /// Bans a peer for sending bad data: every connection with it closes and it is never
    /// asked or served again (``BanBook`` bounds what many bans cost).
    public func ban(_ peer: NodeID, reason: String) {
        let now = NIODeadline.now().uptimeNanoseconds
        struct Outcome {
            let channels: [any Channel]
            let log: (log: Bool, quietBefore: Int)
            let startWriter: Bool
        }
        let banned = state.withLock { s -> Outcome? in
            guard s.bans.peers.insert(peer) else { return nil }
            s.counters.bannedCount? += 1
            s.counters.banned.append(peer.description)
            if s.counters.banned.count > TransferCounters.bannedListed { s.counters.banned.removeFirst() }
            let channels = s.open.values.filter { $0.peer == peer }.map(\.channel)
            return Outcome(channels: channels + (s.links[peer].map { [$0] } ?? []), log: s.bans.logLine(now: now),
                           startWriter: s.bans.queue(peer, reason: reason))
        }
        guard let banned else { return }
        if banned.log.log {
            let quiet = banned.log.quietBefore
            logger.warning("banned peer \(peer): \(reason)\(quiet > 0 ? " (and \(quiet) more peers banned before it, not logged one by one)" : "")")
        }
        // Kept in `node.sqlite` (a write and an fsync) off the caller's thread: a ban for bad
        // chunks is decided on the event loop that read them.
        if banned.startWriter { io.async { [self] in recordBans() } }
        for channel in banned.channels { channel.close(promise: nil) }
    }

    /// Writes the bans that wait, a batch per transaction, until none does.
    private func recordBans() {
        while true {
            let batch = state.withLock { $0.bans.takeRecords() }
            if batch.isEmpty { return }
            delegate.transfer(banned: batch)
        }
    }

    public func isBanned(_ peer: NodeID) -> Bool { state.withLock { $0.bans.peers.contains(peer) } }

    /// Bans remembered from before a restart: kept out as before, without a new log line.
    func restoreBans(_ peers: [NodeID]) {
        state.withLock { s in
            for peer in peers { s.bans.peers.insert(peer) }
            s.counters.bannedCount = s.bans.peers.count
            s.counters.banned = peers.suffix(TransferCounters.bannedListed).map(\.description)
        }
    }
}
