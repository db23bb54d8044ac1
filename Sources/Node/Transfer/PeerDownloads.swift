import BundlecastCore
import Gossip
import TransferWire
import Logging
import NIOCore
import Swarm

/// The node's downloads from peers: starts manifest fetches and chunk downloads over the
/// transfer shell, and registers them with the ``DownloadRouter`` that hands them their answers.
/// What no peer offers comes from the app's mirrors, if it has any (``MirrorBook``).
public final class PeerDownloads: Sendable {
    let node: TransferNode
    let router: DownloadRouter
    /// The apps' mirrors and what they did.
    let mirrors: MirrorBook
    let mirrorClient: MirrorClient

    init(node: TransferNode, router: DownloadRouter, mirrors: MirrorBook = MirrorBook(), mirrorClient: MirrorClient = MirrorClient()) {
        self.node = node
        self.router = router
        self.mirrors = mirrors
        self.mirrorClient = mirrorClient
    }

    /// What a download of `app` `version` needs to use the app's mirrors; nil when it has none.
    func mirrorSource(app: String, version: String, settings: Fetch.Settings) -> MirrorSource? {
        let list = mirrors.mirrors(of: app)
        guard !list.isEmpty else { return nil }
        return MirrorSource(app: app, version: version, mirrors: list, book: mirrors, client: mirrorClient, settings: settings)
    }

    /// Fetches manifest bytes by digest from the candidates, asking a few at a
    /// time and moving on when they do not answer, until one sends bytes that
    /// hash to `digest`, or it appears in the node's own cache (or the task is cancelled). The caller checks them
    /// against the notice's signature before using them. With `mirrors`, once no peer has
    /// sent it for ``FetchSettings/mirrorAfter``, the mirrors are asked too, in turn.
    ///
    /// `changes` is a count that moves whenever the candidates may have (gossip's member
    /// changes): while there is no one to ask, the candidates are looked at again as soon as
    /// it moves, at most every ``soonestLook`` in the first ``earlyLooks`` of the fetch (a
    /// release's notice often arrives just before the metadata that says who holds it) and
    /// every ``lateSoonest`` after. After that first second a fetch with no one to ask looks
    /// by itself only every ``lateLook``: no one holds the release yet (the publisher has not
    /// seeded it, or its seed is down), each look walks every member, and in a large fleet the
    /// members change all the time.
    func manifest(_ digest: Digest256, mirrors source: MirrorSource? = nil, changes: (@Sendable () -> UInt64)? = nil,
                  candidates: @Sendable () -> [TransferCandidate]) async throws -> [UInt8] {
        router.awaitManifest(digest)
        defer { router.stopAwaiting(digest) }
        var fromMirrors = source.map { ManifestFromMirrors(source: $0, digest: digest, now: Fetch.now()) }
        var rounds = ManifestRounds(seed: UInt64.random(in: 0...UInt64.max))
        let started = ContinuousClock.now
        while true {
            let seen = changes?(), lookedAt = ContinuousClock.now
            let usable = candidates().filter { $0.id != node.id && !node.isBanned($0.id) }
            let round = rounds.next(usable.map(\.policyCandidate))
            for candidate in usable where round.ask.contains(candidate.id) {
                node.link(to: candidate.id, at: candidate.address).whenSuccess { [node] _ in
                    node.send(.getManifest(digest), to: candidate.id)
                }
            }
            var wait = Duration.nanoseconds(Int64(clamping: round.wait))
            if round.ask.isEmpty, lookedAt - started >= Self.earlyLooks { wait = max(wait, Self.lateLook) }
            let deadline = lookedAt + wait
            while ContinuousClock.now < deadline {
                if let bytes = router.arrivedManifest(digest) { return bytes }
                if let bytes = await fromMirrors?.next(logger: node.logger) { return bytes }
                let fetching = ContinuousClock.now - started
                if let seen, Self.looksAgain(askedNone: round.ask.isEmpty, changed: changes?() != seen,
                                             fetching: fetching, sinceLook: ContinuousClock.now - lookedAt) { break }
                let step = Self.pollStep(askedNone: round.ask.isEmpty, fetching: fetching)
                try await Task.sleep(for: min(step, deadline - ContinuousClock.now))
            }
            // Meanwhile the manifest may have been seeded through the admin API.
            if node.manifests.contains(digest), let bytes = node.manifests.bytes(digest) { return bytes }
        }
    }

    static let soonestLook = Duration.milliseconds(10)
    static let earlyLooks = Duration.seconds(1)
    static let lateSoonest = Duration.milliseconds(250)
    static let lateLook = Duration.seconds(1)

    /// Whether a manifest fetch that is waiting looks at its candidates again before its
    /// round says so (see ``manifest(_:mirrors:changes:candidates:)``).
    static func looksAgain(askedNone: Bool, changed: Bool, fetching: Duration, sinceLook: Duration) -> Bool {
        askedNone && changed && sinceLook >= (fetching < earlyLooks ? soonestLook : lateSoonest)
    }

    /// How long a waiting manifest fetch sleeps between looks at what arrived and at the
    /// member count. While someone was asked, and in the fetch's first second, every 5 ms: an
    /// answer or a holder is milliseconds away. Later, with no one to ask, only a member change
    /// can end the wait early, and no sooner than ``lateSoonest``: a fleet holding a notice
    /// whose manifest no one has yet would otherwise wake 200 times a second, each node, for
    /// as long as that lasts.
    static func pollStep(askedNone: Bool, fetching: Duration) -> Duration {
        askedNone && fetching >= earlyLooks ? lateSoonest : .milliseconds(5)
    }

    /// Downloads every chunk of `manifest` not yet in the store; `stored` is called with each
    /// one stored (checked, still in memory).
    func chunks(of manifest: Manifest, digest: Digest256, settings: Fetch.Settings,
                candidates: @escaping @Sendable () -> [TransferCandidate],
                mirrors: MirrorSource? = nil,
                stored: (@Sendable (Digest256, [UInt8]) -> Void)? = nil,
                progress: @escaping @Sendable (UInt64, UInt64) -> Void) async throws {
        let fetch = Fetch(manifest: manifest, digest: digest, node: node, settings: settings, logger: node.logger,
                          candidates: candidates, mirrors: mirrors, stored: stored, progress: progress)
        router.add(fetch)
        defer { router.remove(fetch) }
        try await fetch.run()
    }
}
