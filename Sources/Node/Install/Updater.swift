import BundlecastCore
import Dispatch
import Foundation
import Gossip
import Logging
import Policy
import ServiceLifecycle
import Synchronization

/// Auto-update: for each trusted app, brings what is installed in line with
/// the newest accepted notice of this node's channel by executing what
/// ``UpdatePolicy`` decides: fetching the manifest and the missing chunks from
/// peers (after the stagger), installing, running the health check, and going
/// back to the previous version if it fails.
///
/// One loop per app, woken by every accepted notice (and once at start, so
/// an interrupted download resumes); a newer notice arriving mid-download
/// cancels the download (its verified chunks stay in the store).
public final class Updater: Service, Sendable {
    public struct Settings: Sendable {
        /// The channel this node follows.
        public var channel = "stable"
        /// Serve and hold releases, never install them.
        public var seedOnly = false
        /// Random delay before a download starts, so a fleet does not stampede.
        public var stagger: Duration = .seconds(2)
        /// Health check run after each install (`/bin/sh -c`); failure or time-out rolls back.
        public var onInstall: String?
        public var onInstallTimeout: Duration = .seconds(60)
        var fetch = Fetch.Settings()
        /// Shown in status; peers in the same zone are preferred for transfers.
        public var zone: String?
        /// Per app, HTTP mirrors in order of preference (`--mirror`): what no peer offers
        /// is fetched from them (``MirrorPlanner``).
        public var mirrors: [String: [ReleaseMirror]] = [:]

        public init() {}

        /// Bytes per second over all downloads; nil: unlimited.
        public var maxDownloadRate: UInt64? {
            get { fetch.swarm.downloadBytesPerSecond }
            set { fetch.swarm.downloadBytesPerSecond = newValue }
        }

        /// The rules' share of these settings.
        var policy: UpdatePolicy.Settings { UpdatePolicy.Settings(seedOnly: seedOnly, stagger: stagger) }
    }

    let settings: Settings
    let id: NodeID
    /// Each app's key as pinned now: manifests are checked against the newest notice with it.
    let keys: PublisherKeys
    let store: NodeStore
    let manifests: ManifestCache
    let installer: Installer
    let downloads: PeerDownloads
    let gossip: GossipRuntime
    let state: NodeState
    let logger: Logger
    /// Installs, rollbacks and their durations, for `GET /metrics`.
    let metrics: NodeMetrics
    /// Manifests being downloaded, by digest: kept from garbage collection with their chunks
    /// while they are stored alongside the download.
    let fetching = Mutex<[Digest256: Manifest]>([:])
    /// Members' metadata, decoded once per change (``candidates(app:manifest:)``).
    let decodedMetadata = NodeMetadata.Decoded()
    /// What the content server serves and its pages hear of: told of every install record.
    let releases: InstalledReleases?
    private let wakes: [String: AsyncStream<Void>.Continuation]
    private let streams: [String: AsyncStream<Void>]
    /// Serialises installs and operator rollbacks of one app.
    let installLocks: [String: NSLock]
    /// What the updater remembers of one app between reconciles.
    struct AppState {
        /// The app's rules and what they remember (the stagger drawn, retired notices reported, seeded manifests).
        var policy: UpdatePolicy
        /// The last progress step gossiped, and when.
        var progressSent: (step: UInt64, at: UInt64)?
    }

    /// Every app's state, under one lock.
    private let apps: Mutex<[String: AppState]>
    /// Per app, the serial queue its file work runs on (checks for room, storing a manifest,
    /// install, rollback), and the one its staging copies run on (``StagedTree/fill(from:)``;
    /// install waits for the copy). Serial queues get a thread of their own; on Dispatch's
    /// concurrent pool (a thread per core on Linux) a staging copy of seconds and an install
    /// waiting for it took both threads, and the transfer shell's reads for uploads, which
    /// share that pool, waited: a node that had finished downloading stopped serving its peers.
    private let queues: [String: DispatchQueue]
    private let stagingQueues: [String: DispatchQueue]
    /// The origin of the policies' clock.
    private let epoch = ContinuousClock.now

    init(settings: Settings, id: NodeID, keys: PublisherKeys, store: NodeStore, manifests: ManifestCache,
         installer: Installer, downloads: PeerDownloads, gossip: GossipRuntime, state: NodeState, logger: Logger,
         metrics: NodeMetrics = NodeMetrics(), releases: InstalledReleases? = nil) {
        self.settings = settings
        self.id = id
        self.keys = keys
        self.store = store
        self.manifests = manifests
        self.installer = installer
        self.downloads = downloads
        self.gossip = gossip
        self.state = state
        self.logger = logger
        self.metrics = metrics
        self.releases = releases
        downloads.mirrors.register(settings.mirrors)
        var wakes: [String: AsyncStream<Void>.Continuation] = [:]
        var streams: [String: AsyncStream<Void>] = [:]
        var locks: [String: NSLock] = [:]
        var queues: [String: DispatchQueue] = [:]
        var stagingQueues: [String: DispatchQueue] = [:]
        var apps: [String: AppState] = [:]
        for app in keys.apps {
            let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            wakes[app] = continuation
            streams[app] = stream
            locks[app] = NSLock()
            queues[app] = DispatchQueue(label: "bundlecast.install.\(app)")
            stagingQueues[app] = DispatchQueue(label: "bundlecast.staging.\(app)")
            apps[app] = AppState(policy: UpdatePolicy(node: id, settings: settings.policy, seed: .random(in: .min ... .max)))
        }
        self.wakes = wakes
        self.streams = streams
        installLocks = locks
        self.queues = queues
        self.stagingQueues = stagingQueues
        self.apps = Mutex(apps)
    }

    /// A notice for `app` was accepted (or something else changed): reconcile soon.
    func wake(_ app: String) { wakes[app]?.yield() }

    public func run() async throws {
        // On SIGTERM a download in progress is cancelled (its verified chunks stay), so the node can leave at once.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for (app, stream) in self.streams.sorted(by: { $0.key < $1.key }) {
                    group.addTask {
                        self.installer.cleanStaging(app: app)
                        self.publish(app: app)
                        self.wake(app)
                        for await _ in stream {
                            await self.reconcile(app)
                        }
                    }
                }
            }
        }
        // An install or rollback already running finishes before the updater is down.
        for app in queues.keys.sorted() {
            await stagingQueues[app]!.drained()
            await queues[app]!.drained()
        }
    }

    // MARK: - Reconcile

    private func reconcile(_ app: String) async {
        do {
            try await reconcileOnce(app)
            state.setError(app, nil)
        } catch is CancellationError {
        } catch let superseded as Superseded {
            logger.info("\(superseded)")
            wake(app)
        } catch {
            // Logged when the reason changes, not at every retry; status shows it meanwhile.
            if state.setError(app, "\(error)") { logger.error("update of \(app) failed: \(error); retrying every 5 s") }
            state.updateApp(app) { $0.downloading = nil; $0.progress = nil }
            // Try again later; verified chunks are kept.
            try? await Task.sleep(for: .seconds(5))
            wake(app)
        }
    }

    /// Asks the policy what to do about the newest notice and does it; after a stagger, asks again.
    private func reconcileOnce(_ app: String) async throws {
        while true {
            guard let signed = try store.latest(app: app, channel: settings.channel), let key = keys.key(app) else { return }
            let facts = UpdatePolicy.Facts(notice: signed.notice, signedByPinnedKey: signed.signature.keyID == key.keyID,
                                           signedDigest: Blake2b.digest256(signed.bytes), record: try store.installRecord(app: app))
            let target: Digest256
            switch withPolicy(app, { $0.reconcile(facts) }) {
            case .upToDate:
                return publish(app: app)
            case .stay(let reason):
                return explain(reason, signed: signed, pinned: key)
            case .fetchAndInstall(let manifest), .fetchAndSeed(let manifest):
                target = manifest
            }
            let cached = manifests.manifest(target)
            let missing = cached.map { !installer.chunks.holdsEveryChunk(of: $0) } ?? true
            let now = self.now()
            switch withPolicy(app, { $0.startFetch(target, chunksMissing: missing, now: now) }) {
            case .waitUntil(let until):
                try await Task.sleep(for: .nanoseconds(Int64(clamping: until > now ? until - now : 0)))
            case .now:
                return try await fetch(signed, key: key, cached: cached, missing: missing)
            }
        }
    }

    /// Says why nothing is done, where an operator needs to know.
    private func explain(_ reason: UpdatePolicy.Stay, signed: SignedNotice, pinned key: PublicKey) {
        let notice = signed.notice
        switch reason {
        case .retiredKey(let firstReport):
            // Accepted before a rotation (or a re-pin) replaced its key: what is installed stays.
            if firstReport {
                logger.warning("the newest notice of \(notice.app) (#\(notice.sequence), \(notice.version)) is signed by key \(signed.signature.keyID), no longer the pinned key: not installing it; waiting for a notice signed by \(key.keyID)")
            }
        case .outsideRollout(let percent):
            logger.info("\(notice.app) \(notice.version) (#\(notice.sequence)) is rolling out to \(percent)%; this node is not in it")
        case .held, .failedBefore, .alreadySeeded:
            break
        }
    }

    /// Runs `body` on `app`'s policy.
    func withPolicy<T: Sendable>(_ app: String, _ body: (inout UpdatePolicy) -> T) -> T {
        apps.withLock { body(&$0[app]!.policy) }
    }

    /// Manifests a seed-only node holds whole for `app` (newest last).
    func seeded(_ app: String) -> [Digest256] {
        apps.withLock { $0[app]?.policy.seeded ?? [] }
    }

    /// Whether progress `step` of `app` should be gossiped at `now`: a new step, at most once a second.
    func shouldReport(_ app: String, step: UInt64, now: UInt64) -> Bool {
        apps.withLock { apps in
            if let last = apps[app]?.progressSent, last.step == step || now < last.at + 1_000_000_000 { return false }
            apps[app]?.progressSent = (step, now)
            return true
        }
    }

    /// The policies' clock: nanoseconds since this updater was made.
    private func now() -> UInt64 {
        UInt64(UpdatePolicy.nanoseconds(ContinuousClock.now - epoch))
    }

    // MARK: - Helpers

    /// Whether this node is in a rollout of `percent` (``UpdatePolicy/inRollout(node:manifest:percent:)``).
    public static func inRollout(node: NodeID, manifest: Digest256, percent: UInt8) -> Bool {
        UpdatePolicy.inRollout(node: node, manifest: manifest, percent: percent)
    }

    /// This node's rollout bucket for `manifest` (``UpdatePolicy/bucket(node:manifest:)``).
    public static func bucket(node: NodeID, manifest: Digest256) -> Int {
        UpdatePolicy.bucket(node: node, manifest: manifest)
    }

    /// A duration in whole nanoseconds (``UpdatePolicy/nanoseconds(_:)``).
    static func nanoseconds(_ duration: Duration) -> Int64 {
        UpdatePolicy.nanoseconds(duration)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let (s, atto) = (ContinuousClock.now - start).components
        return Double(s) + Double(atto) / 1e18
    }

    /// Runs `body` on `app`'s queue, after the work queued there before it.
    func blocking<T: Sendable>(_ app: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        guard let queue = queues[app] else { throw UpdateError("this node does not trust \(app)") }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Queues a staging copy for `app` without waiting for it.
    func staging(_ app: String, _ body: @escaping @Sendable () -> Void) {
        stagingQueues[app]?.async(execute: body)
    }
}

/// A download given up because a newer notice names another manifest.
struct Superseded: Error, CustomStringConvertible {
    let app: String
    let version: String
    var description: String { "download of \(app) superseded by \(version)" }
}

/// An update that cannot proceed, and why.
public struct UpdateError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
