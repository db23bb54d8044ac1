import BundlecastCore
import Foundation
import Gossip
import Logging
@testable import Node
import NIOCore
import NIOEmbedded
import Swarm
import Synchronization
import Testing
import TestSupport
import TransferWire

/// The transfer shell and a download, in process on loopback: a node that holds a release
/// and one that fetches it, with the download router as the shell's delegate.
@Suite struct TransferShellTests {
    /// One node: its store, its manifests, its shell and its downloads.
    struct Peer {
        let node: TransferNode
        let downloads: PeerDownloads
        let candidate: TransferCandidate

        static func start(_ dir: String, settings: TransferNode.Settings = .init(),
                          onBan: @escaping @Sendable ([(peer: NodeID, reason: String)]) -> Void = { _ in }) async throws -> Peer {
            let chunks = try ChunkStore(root: dir + "/chunks")
            let manifests = try ManifestCache(root: dir + "/manifests")
            let router = DownloadRouter(onBan: onBan)
            let node = try await TransferNode.start(identity: NodeIdentity(seed: Sodium.randomBytes(32)), settings: settings,
                                                    chunks: chunks, manifests: manifests, delegate: router,
                                                    logger: Logger(label: "test"))
            let candidate = TransferCandidate(id: node.id, address: PeerAddress(host: "127.0.0.1", port: UInt16(node.port)),
                                              sameZone: true, complete: true)
            return Peer(node: node, downloads: PeerDownloads(node: node, router: router), candidate: candidate)
        }
    }

    /// A seed holding the installer fixture's release (three chunks), and its manifest.
    static func seed(_ dir: String, settings: TransferNode.Settings = .init()) async throws -> (Peer, Manifest) {
        let (manifest, store) = try InstallerTests.fixture(dir + "/seed")
        let seed = try await Peer.start(dir + "/seed", settings: settings)
        for chunk in manifest.distinctChunks { try seed.node.chunks.putVerified(chunk.digest, #require(try store.read(chunk.digest))) }
        _ = try seed.node.manifests.put(manifest.encoded(), digest: manifest.digest)
        return (seed, manifest)
    }

    /// The node-wide budget full: a connection's only chunk still goes, outside it (and gives
    /// nothing back to it when done); a manifest, or a second chunk, waits.
    @Test(.timeLimit(.minutes(1))) func aConnectionsOnlyChunkGoesOutsideAFullBudget() async throws {
        try await withTemporaryDirectory { dir in
            let peer = try await Peer.start(dir + "/node")
            let channel = EmbeddedChannel()
            let connection = TransferConnection()
            defer { connection.hello.fail(ChannelError.ioOnClosedChannel) }
            let node = peer.node
            #expect(node.reserveBulk(TransferNode.maxUnsentBytes, ownChunk: false, connection, channel) == .shared)
            #expect(node.reserveBulk(64 << 10, ownChunk: true, connection, channel) == .own)
            #expect(node.reserveBulk(64 << 10, ownChunk: false, connection, channel) == nil, "not its only answer, or a manifest")
            #expect(node.reserveBulk(TransferFrame.maxChunkFrame + 1, ownChunk: true, connection, channel) == nil, "larger than a chunk")
            #expect(node.state.withLock { $0.bulk.unsent } == TransferNode.maxUnsentBytes)
            node.bulkDone(64 << 10, shared: false, sent: true, connection, channel)
            #expect(node.state.withLock { $0.bulk.unsent } == TransferNode.maxUnsentBytes, "its own room was never the budget's")
            node.bulkDone(TransferNode.maxUnsentBytes, shared: true, sent: true, connection, channel)
            #expect(node.state.withLock { $0.bulk.unsent } == 0)
            _ = try? channel.finish()
            await node.shutdown()
        }
    }

    @Test(.timeLimit(.minutes(1))) func aDownloadFetchesTheManifestAndEveryChunkFromAPeer() async throws {
        try await withTemporaryDirectory { dir in
            let (seed, manifest) = try await Self.seed(dir)
            let fetcher = try await Peer.start(dir + "/fetcher")
            let bytes = try await fetcher.downloads.manifest(manifest.digest) { [seed.candidate] }
            #expect(bytes == manifest.encoded())
            let progress = Mutex<UInt64>(0)
            try await fetcher.downloads.chunks(of: manifest, digest: manifest.digest, settings: FetchSettings(),
                                               candidates: { [seed.candidate] }) { held, _ in progress.withLock { $0 = held } }
            let distinct = manifest.distinctChunks
            #expect(fetcher.node.chunks.presence(distinct.map(\.digest)).allSatisfy { $0 })
            // Progress comes from the event loop and the store's queue alike, so its last call may
            // be a step behind; it is never past the total.
            #expect((1...distinct.reduce(0) { $0 + UInt64($1.size) }).contains(progress.withLock { $0 }))
            #expect(fetcher.node.counters.chunksIn == distinct.count)
            #expect(seed.node.counters.chunksOut == distinct.count)
            #expect(seed.node.counters.connectionsIn == 1 && fetcher.node.counters.connectionsOut == 1)
            // The seed's chunks were found on disk at its start: each was read and checked before
            // it went out. Now checked, the large one goes out as a region of its pack file to the
            // next fetcher; the two small ones still from a buffer.
            #expect(seed.node.counters.chunksOutFromFile == 0)
            let second = try await Peer.start(dir + "/second")
            try await second.downloads.chunks(of: manifest, digest: manifest.digest, settings: FetchSettings(),
                                              candidates: { [seed.candidate] }) { _, _ in }
            for chunk in distinct { #expect(try second.node.chunks.read(chunk.digest).map(Blake2b.digest256) == chunk.digest) }
            let large = distinct.filter { $0.size >= TransferNode.minRegionBytes }.count
            #expect(large == 1)
            #expect(seed.node.counters.chunksOutFromFile == large)
            await second.node.shutdown()
            await fetcher.node.shutdown()
            await seed.node.shutdown()
        }
    }

    @Test(.timeLimit(.minutes(1))) func aSeedWithoutARateSuperSeedsAndStillServesFetchersWithNoOtherSource() async throws {
        try await withTemporaryDirectory { dir in
            var settings = TransferNode.Settings()
            settings.superSeed = true
            let (seed, manifest) = try await Self.seed(dir, settings: settings)
            #expect(seed.node.superSeedsOnBackPressure)
            // Two fetchers that know only the seed: a chunk refused to one while the seed's link
            // is busy with the other's answers comes once the link is idle (nobody else holds it).
            let fetchers = [try await Peer.start(dir + "/a"), try await Peer.start(dir + "/b")]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for fetcher in fetchers {
                    group.addTask {
                        try await fetcher.downloads.chunks(of: manifest, digest: manifest.digest, settings: FetchSettings(),
                                                           candidates: { [seed.candidate] }) { _, _ in }
                    }
                }
                try await group.waitForAll()
            }
            let distinct = manifest.distinctChunks
            for fetcher in fetchers {
                for chunk in distinct { #expect(try fetcher.node.chunks.read(chunk.digest).map(Blake2b.digest256) == chunk.digest) }
            }
            // Every chunk went to both, so each is on the books as sent again at least once.
            #expect(seed.node.counters.chunksOut == 2 * distinct.count)
            #expect(seed.node.counters.resentToOthers == distinct.count)
            for peer in fetchers + [seed] { await peer.node.shutdown() }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aPeerThatSendsBadChunksIsBannedAndTheDelegateHearsOfIt() async throws {
        try await withTemporaryDirectory { dir in
            var lying = TransferNode.Settings()
            lying.corruptUploads = true
            let (seed, manifest) = try await Self.seed(dir, settings: lying)
            let (bans, ban) = AsyncStream.makeStream(of: String.self)
            let fetcher = try await Peer.start(dir + "/fetcher") { for (peer, reason) in $0 { ban.yield("\(peer) \(reason)") } }
            var settings = FetchSettings()
            settings.swarm.strikesToBan = 1
            let download = Task {
                try await fetcher.downloads.chunks(of: manifest, digest: manifest.digest, settings: settings,
                                                   candidates: { [seed.candidate] }) { _, _ in }
            }
            var heard = bans.makeAsyncIterator()
            let first = await heard.next()
            #expect(first?.hasPrefix("\(seed.node.id) ") == true)
            #expect(fetcher.node.isBanned(seed.node.id))
            #expect(fetcher.node.counters.badChunks >= 1 && fetcher.node.counters.chunksIn == 0)
            download.cancel()
            await #expect(throws: CancellationError.self) { try await download.value }
            // A banned peer is not dialled again.
            await #expect(throws: TransferError.self) { try await fetcher.node.link(to: seed.node.id, at: seed.candidate.address).get() }
            await fetcher.node.shutdown()
            await seed.node.shutdown()
        }
    }

    @Test(.timeLimit(.minutes(1))) func aManifestThatDoesNotHashToItsDigestGetsItsSenderBanned() async throws {
        try await withTemporaryDirectory { dir in
            var lying = TransferNode.Settings()
            lying.corruptUploads = true
            let (seed, manifest) = try await Self.seed(dir, settings: lying)
            let (bans, ban) = AsyncStream.makeStream(of: NodeID.self)
            let fetcher = try await Peer.start(dir + "/fetcher") { for (peer, _) in $0 { ban.yield(peer) } }
            let asking = Task { try await fetcher.downloads.manifest(manifest.digest) { [seed.candidate] } }
            var heard = bans.makeAsyncIterator()
            #expect(await heard.next() == seed.node.id)
            asking.cancel()
            _ = try? await asking.value
            await fetcher.node.shutdown()
            await seed.node.shutdown()
        }
    }
}
