import BundlecastCore
import Gossip
import NIOCore
import Swarm
import Synchronization
import TransferWire

/// A chunk a peer asked for, waiting for its turn on the upload link.
struct Upload: Sendable {
    let peer: NodeID
    let digest: Digest256
    let size: Int
    let channel: any Channel
    let connection: TransferConnection
    /// Its bytes count against the node-wide budget (false: it went as its connection's only
    /// chunk, outside it; ``TransferNode/reserveBulk(_:ownChunk:_:_:)``).
    var shared = true
}

/// The upload pacer's state: the link (nil without `--max-upload-rate`), when its next
/// turns are due, and which peer each recently queued chunk went to (``SuperSeeding``).
struct UploadState: Sendable {
    var link: UploadQueue<Upload>?
    var pumpAt: UInt64 = .max
    var seeding: SuperSeeding<Digest256>
}

/// Bulk answers in write buffers node-wide (``TransferNode/maxUnsentBytes``), and the
/// connections waiting for room, in the order they began to wait.
struct BulkBudget: Sendable {
    var unsent = 0
    var waiting: [(connection: TransferConnection, channel: any Channel)] = []
}

/// Uploads: paced node-wide by `--max-upload-rate`, served in turns per requester.
extension TransferNode {
    /// Queues the upload of a chunk to `peer`; false to refuse it (answer `missing`).
    ///
    /// With `--max-upload-rate`, requests wait in a queue per requester and the link
    /// takes the requesters in turn, one chunk each (``UploadQueue``), so every peer
    /// asking gets the same share and a chunk is read from disk only when its turn comes:
    /// a queue of requests costs no memory. A seed (`superSeed`: a `--seed-only` node)
    /// super-seeds (``SuperSeeding``): while its link is busy, a chunk queued for another
    /// peer less than `resendAfter` ago is refused, so the scarce upload goes to chunks the
    /// fleet does not have yet. Without a rate the seed does not know its link, and the
    /// kernel tells it instead (``superSeedsOnBackPressure``): the link is busy while a
    /// chunk written for another connection waits for room in a socket. The requester's own
    /// answers do not count: a batch of requests from one peer to an otherwise idle seed is
    /// served whole, not one chunk per have-query.
    func queueUpload(_ upload: Upload, to peer: NodeID) -> Bool {
        enum Next { case refuse, send, pump }
        let now = NIODeadline.now().uptimeNanoseconds
        // Read before the node's lock: a connection's lock is never taken inside it.
        let own = upload.connection.unsentBytes
        let next = state.withLock { s -> Next in
            guard s.uploads.link != nil || settings.superSeed else { return .send }
            let idle = s.uploads.link?.isIdle(now: now) ?? (s.bulk.unsent <= own)
            let admission = s.uploads.seeding.admit(upload.digest, to: peer, linkIdle: idle, now: now)
            guard admission != .refused else {
                s.counters.refusedResends? += 1
                return .refuse
            }
            if case .resent(let before) = admission {
                if before == peer { s.counters.resentToSame? += 1 } else { s.counters.resentToOthers? += 1 }
            }
            guard s.uploads.link != nil else { return .send }
            s.uploads.link!.enqueue(upload, bytes: upload.size, from: queue(of: peer), now: now)
            return .pump
        }
        switch next {
        case .refuse: return false
        case .send: send(upload)
        case .pump: pumpUploads()
        }
        return true
    }

    /// A seed without `--max-upload-rate` super-seeds on the kernel's back-pressure: each of
    /// its sockets takes at most ``maxNotSent`` bytes not yet sent (`TCP_NOTSENT_LOWAT`), so
    /// a chunk it writes waits in this node, where ``queueUpload(_:to:)`` sees it, rather than
    /// in a socket buffer of megabytes, where the link looked idle while seconds of chunks
    /// were still to go out.
    var superSeedsOnBackPressure: Bool { settings.superSeed && !(settings.maxUploadRate.map { $0 > 0 } ?? false) }

    static let maxNotSent: SocketOptionValue = 128 << 10
    static let notSentLowWater = ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: tcpNotSentLowAt))
    /// `TCP_NOTSENT_LOWAT` of `<netinet/tcp.h>`, which the Glibc module does not import.
    #if canImport(Darwin)
    private static let tcpNotSentLowAt: CInt = 0x201
    #else
    private static let tcpNotSentLowAt: CInt = 25
    #endif

    /// Gives the link's next turns and sends each chunk when its slot starts; schedules
    /// itself for the turns after.
    func pumpUploads() {
        let now = NIODeadline.now().uptimeNanoseconds
        let (bookings, wake) = state.withLock { s -> ([UploadQueue<Upload>.Booking], UInt64?) in
            guard s.uploads.link != nil else { return ([], nil) }
            let bookings = s.uploads.link!.book(now: now)
            guard let next = s.uploads.link!.nextBooking, next < s.uploads.pumpAt else { return (bookings, nil) }
            s.uploads.pumpAt = max(next, now + 1)
            return (bookings, s.uploads.pumpAt)
        }
        for booking in bookings {
            let upload = booking.item
            if booking.start <= now {
                send(upload)
            } else {
                upload.channel.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(booking.start)) { [self] in send(upload) }
            }
        }
        if let wake {
            group.next().scheduleTask(deadline: .uptimeNanoseconds(wake)) { [self] in
                state.withLock { if $0.uploads.pumpAt <= wake { $0.uploads.pumpAt = .max } }
                pumpUploads()
            }
        }
    }

    /// A cancel from the peer: a request still waiting for its turn leaves the queue
    /// (no upload time is spent on it). False when it is not waiting (it may be sending).
    func unqueueUpload(_ digest: Digest256, on connection: TransferConnection, from peer: NodeID) -> Bool {
        unqueue(from: peer) { $0.digest == digest && $0.connection === connection } > 0
    }

    /// The connection closed: what it asked for and still waits is dropped.
    func dropUploads(on channel: any Channel, to peer: NodeID) {
        unqueue(from: peer) { $0.channel === channel }
    }

    /// Drops waiting uploads to `peer`; a chunk never sent no longer holds others off under
    /// super-seeding.
    @discardableResult
    private func unqueue(from peer: NodeID, where matches: (Upload) -> Bool) -> Int {
        state.withLock { s in
            let removed = s.uploads.link?.remove(from: queue(of: peer)) { $0.peer == peer && matches($0) } ?? []
            for upload in removed { s.uploads.seeding.unsent(upload.digest, to: peer) }
            return removed.count
        }
    }

    /// The queue a peer's requests wait in: its own, or with `uploadsInTurns` off the one
    /// queue of arrival order.
    private func queue(of peer: NodeID) -> NodeID { settings.uploadsInTurns ? peer : Self.everyone }

    static let everyone = NodeID(high: 0, low: 0)

    /// Sends the chunk when the connection's write buffer has room (``TransferConnection``).
    func send(_ upload: Upload) {
        upload.connection.enqueue(.chunk(upload))
        pumpOutgoing(upload.connection, on: upload.channel)
    }

    /// Answers a manifest request when the write buffer has room; false when the manifest
    /// is not held (answer `missing`).
    func sendManifest(_ digest: Digest256, on channel: any Channel, connection: TransferConnection) -> Bool {
        guard let size = manifests.size(of: digest) else { return false }
        connection.enqueue(.manifest(digest, size: size))
        pumpOutgoing(connection, on: channel)
        return true
    }

    /// Writes the connection's waiting bulk answers while its write buffer and the node's
    /// budget (``maxUnsentBytes``) have room; a write that completes makes room again.
    func pumpOutgoing(_ connection: TransferConnection, on channel: any Channel) {
        var shared = true
        while let item = connection.nextOutgoing(now: NIODeadline.now().uptimeNanoseconds, fits: { item, alone in
            guard let room = reserveBulk(item.size, ownChunk: alone && item.isChunk, connection, channel) else { return false }
            shared = room == .shared
            return true
        }) {
            switch item {
            case .chunk(var upload):
                upload.shared = shared
                if connection.takeCancelled(upload.digest) {
                    // Never sent: it holds no other requester off (super-seeding).
                    state.withLock { $0.uploads.seeding.unsent(upload.digest, to: upload.peer) }
                    bulkDone(upload.size, shared: upload.shared, sent: false, connection, channel)
                    continue
                }
                if !sendFromFile(upload) { io.async { [self, upload] in writeChunk(upload) } }
            case .manifest(let digest, let size):
                io.async { [self] in writeManifest(digest, size: size, on: channel, connection: connection) }
            }
        }
    }

    /// Bulk bytes written and not yet completed, over all connections, beyond each
    /// connection's one chunk: with 256 peers that stop reading, memory stays at this plus a
    /// chunk frame per connection.
    static let maxUnsentBytes = 16 << 20

    /// Where an answer's bytes are counted while they wait to be written.
    enum Room { case shared, own }

    /// Room node-wide for an answer of `size` bytes: in the shared budget, or, for a chunk
    /// that would be its connection's only answer in the buffer (`ownChunk`), outside it. So
    /// peers that fill the budget and read slowly hold neither every other peer's chunks off
    /// (each connection's share follows what its peer reads, ``DrainMeter``, and one chunk is
    /// always its own) nor the manifests (the chunks that went as their own count for none of
    /// it). A manifest (up to 16 MiB) takes room in the budget. Nil: no room now (the
    /// connection is told when there is).
    func reserveBulk(_ size: Int, ownChunk: Bool, _ connection: TransferConnection, _ channel: any Channel) -> Room? {
        state.withLock { s in
            if s.bulk.unsent == 0 || s.bulk.unsent + size <= Self.maxUnsentBytes {
                s.bulk.unsent += size
                return .shared
            }
            if ownChunk, size <= TransferFrame.maxChunkFrame { return .own }
            if !s.bulk.waiting.contains(where: { $0.connection === connection }) { s.bulk.waiting.append((connection, channel)) }
            return nil
        }
    }

    /// A bulk write completed or was dropped (`sent` false: its bytes never reached the
    /// kernel, and do not count as read by the peer): its room goes back, and the
    /// connections that waited for room try again.
    func bulkDone(_ size: Int, shared: Bool, sent: Bool, _ connection: TransferConnection, _ channel: any Channel) {
        connection.written(size, now: NIODeadline.now().uptimeNanoseconds, taken: sent)
        let retry = state.withLock { s -> [(connection: TransferConnection, channel: any Channel)] in
            if shared { s.bulk.unsent -= size }
            defer { s.bulk.waiting.removeAll() }
            return s.bulk.waiting
        }
        pumpOutgoing(connection, on: channel)
        for waiter in retry where waiter.connection !== connection { pumpOutgoing(waiter.connection, on: waiter.channel) }
    }

    /// Reads the chunk from disk straight into the frame's buffer and writes it.
    func writeChunk(_ upload: Upload) {
        let (digest, size, channel) = (upload.digest, upload.size, upload.channel)
        let header = TransferFrame.chunkHeader(digest)
        var frame = channel.allocator.buffer(capacity: 4 + header.count + size)
        frame.writeInteger(UInt32(header.count + size))
        frame.writeBytes(header)
        let read = frame.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { chunks.read(digest, into: $0) ?? 0 }
        guard read == size else {
            uploadDone(upload, sent: false)
            channel.writeAndFlush(TransferFrame.missing(digest).buffer(), promise: nil)
            return
        }
        if settings.corruptUploads {
            let at = 4 + header.count + size / 2
            frame.setInteger(frame.getInteger(at: at, as: UInt8.self)! ^ 0xFF, at: at)
        }
        count {
            $0.bytesOut += UInt64(size)
            $0.chunksOut += 1
        }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { [self] result in
            uploadDone(upload, sent: (try? result.get()) != nil)
        }
        channel.writeAndFlush(frame, promise: promise)
    }

    /// A chunk's upload is over, written or not: its request is finished and its room in the
    /// bulk budget goes back; one never sent holds no other requester off (super-seeding).
    func uploadDone(_ upload: Upload, sent: Bool) {
        if !sent { state.withLock { $0.uploads.seeding.unsent(upload.digest, to: upload.peer) } }
        _ = upload.connection.finish(upload.digest)
        bulkDone(upload.size, shared: upload.shared, sent: sent, upload.connection, upload.channel)
    }

    private func writeManifest(_ digest: Digest256, size: Int, on channel: any Channel, connection: TransferConnection) {
        let reply: TransferFrame = manifests.bytes(digest).map { bytes in
            guard settings.corruptUploads, !bytes.isEmpty else { return .manifest(digest, bytes) }
            var altered = bytes
            altered[altered.count / 2] ^= 0x01
            return .manifest(digest, altered)
        } ?? .missing(digest)
        let promise = channel.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { [self] result in
            connection.manifestRequestDone()
            bulkDone(size, shared: true, sent: (try? result.get()) != nil, connection, channel)
        }
        channel.writeAndFlush(reply.buffer(), promise: promise)
    }
}
