import BundlecastCore
import Dispatch
import Foundation
import Gossip
import Logging
import ServiceLifecycle
import Synchronization

/// Auto-update: for each trusted app, brings what is installed in line with
/// the newest accepted notice of this node's channel — when this node is in
/// the notice's rollout, after a random stagger — by fetching the manifest
/// and the missing chunks from peers, installing, running the health check,
/// and going back to the previous version if it fails.
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

        public init() {}

        /// Bytes per second over all downloads; nil: unlimited.
        public var maxDownloadRate: UInt64? {
            get { fetch.swarm.downloadBytesPerSecond }
            set { fetch.swarm.downloadBytesPerSecond = newValue }
        }
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
    private let wakes: [String: AsyncStream<Void>.Continuation]
    private let streams: Mutex<[String: AsyncStream<Void>]>
    /// Serialises installs and operator rollbacks of one app.
    private let installLocks: [String: NSLock]
    /// Last progress step gossiped per app, and when.
    private let progressSent = Mutex<[String: (step: UInt64, at: UInt64)]>([:])
    /// Manifests a seed-only node completed, per app (newest last).
    private let seeded = Mutex<[String: [Digest256]]>([:])
    private let work = DispatchQueue(label: "bundlecast.install", attributes: .concurrent)
    /// Notices already reported as signed by a retired key (logged once each).
    private let retiredReported = Mutex<Set<Digest256>>([])

    init(settings: Settings, id: NodeID, keys: PublisherKeys, store: NodeStore, manifests: ManifestCache,
         installer: Installer, downloads: PeerDownloads, gossip: GossipRuntime, state: NodeState, logger: Logger) {
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
        var wakes: [String: AsyncStream<Void>.Continuation] = [:]
        var streams: [String: AsyncStream<Void>] = [:]
        var locks: [String: NSLock] = [:]
        for app in keys.apps {
            let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            wakes[app] = continuation
            streams[app] = stream
            locks[app] = NSLock()
        }
        self.wakes = wakes
        self.streams = Mutex(streams)
        installLocks = locks
    }

    /// A notice for `app` was accepted (or something else changed): reconcile soon.
    func wake(_ app: String) { wakes[app]?.yield() }

    public func run() async throws {
        let streams = self.streams.withLock { $0 }
        // On SIGTERM a download in progress is cancelled (its verified chunks stay), so the node can leave at once.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for app in streams.keys.sorted() {
                    let stream = streams[app]!
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

    private func reconcileOnce(_ app: String) async throws {
        guard let signed = try store.latest(app: app, channel: settings.channel), let key = keys.key(app) else { return }
        let notice = signed.notice
        let record = try store.installRecord(app: app)
        let target = notice.manifest
        if !settings.seedOnly, record.current?.manifest == target { return publish(app: app) }
        guard signed.signature.keyID == key.keyID else {
            // Accepted before a rotation (or a re-pin) replaced its key: it is not acted on any more (the
            // key may be why it was replaced). What is installed stays; a notice signed by the new key moves on.
            if retiredReported.withLock({ $0.insert(Blake2b.digest256(signed.bytes)).inserted }) {
                logger.warning("the newest notice of \(app) (#\(notice.sequence), \(notice.version)) is signed by key \(signed.signature.keyID), no longer the pinned key: not installing it; waiting for a notice signed by \(key.keyID)")
            }
            return
        }
        if !settings.seedOnly {
            if let hold = record.holdSequence, notice.sequence <= hold { return }
            if record.failedManifest == target, let failed = record.failedSequence, notice.sequence <= failed { return }
            guard Self.inRollout(node: id, manifest: target, percent: notice.rollout) else {
                logger.info("\(app) \(notice.version) (#\(notice.sequence)) is rolling out to \(notice.rollout)%; this node is not in it")
                return
            }
        } else if seeded.withLock({ $0[app]?.last == target }) {
            return
        }
        // Stagger only when there is something to fetch from peers.
        let cached = manifests.manifest(target)
        let missing = cached.map { m in installer.chunks.presence(m.distinctChunks.map(\.digest)).contains(false) } ?? true
        if missing && settings.stagger > .zero {
            try await Task.sleep(for: Duration.nanoseconds(Int64.random(in: 0...Self.nanoseconds(settings.stagger))))
        }
        let manifest = try await withSupersession(app: app, target: target) { [self] in
            try await obtainManifest(signed, key: key, cached: cached)
        }
        var fetchSeconds: Double?
        var staged: StagedTree?
        defer { staged?.abandon() }
        if missing {
            let started = ContinuousClock.now
            // May collect garbage, which moves chunks between packs: off the concurrency pool.
            try await blocking { [self] in try checkRoom(for: manifest, app: app, version: notice.version.description) }
            logger.info("downloading \(app) \(notice.version) from peers", metadata: ["manifest": "\(target.short)", "bytes": "\(notice.size)"])
            let peers: @Sendable () -> [TransferCandidate] = { [self] in candidates(app: app, manifest: target) }
            state.updateApp(app) { $0.downloading = String(target.hex.prefix(16)); $0.progress = 0 }
            // The tree is written as the chunks arrive; what the store already holds is copied meanwhile.
            staged = settings.seedOnly ? nil : stage(manifest)
            if let staged { work.async { [installer] in staged.fill(from: installer.chunks) } }
            let write = staged.map { tree in { @Sendable (digest: Digest256, bytes: [UInt8]) in tree.write(digest, bytes) } }
            try await withSupersession(app: app, target: target) { [self] in
                try await downloads.chunks(of: manifest, digest: target, settings: settings.fetch, candidates: peers, stored: write) { held, total in
                    self.reportProgress(app: app, held: held, total: total)
                }
            }
            state.updateApp(app) { $0.downloading = nil; $0.progress = nil }
            fetchSeconds = Self.seconds(since: started)
        }
        if settings.seedOnly {
            seeded.withLock { list in
                list[app, default: []].removeAll { $0 == target }
                list[app, default: []].append(target)
                if list[app]!.count > 2 { list[app]!.removeFirst() }
            }
            logger.info("holding \(app) \(notice.version) complete (seed only)")
            publish(app: app)
            try await blocking { [self] in collectGarbage() }
            return
        }
        let fetched = fetchSeconds, tree = staged
        try await blocking { [self] in try install(manifest, digest: target, notice: notice, fetchSeconds: fetched, staged: tree) }
    }

    /// The tree laid out for writing while it downloads, or nil (install then writes it from
    /// the store) when it cannot be made.
    private func stage(_ manifest: Manifest) -> StagedTree? {
        do {
            return try StagedTree(manifest, installer: installer)
        } catch {
            logger.warning("cannot stage \(manifest.app) \(manifest.version) while it downloads (it is written at install instead): \(error)")
            return nil
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let (s, atto) = (ContinuousClock.now - start).components
        return Double(s) + Double(atto) / 1e18
    }

    /// Refuses a download that cannot fit under `--max-store`, before fetching anything,
    /// after dropping what no kept version needs.
    private func checkRoom(for manifest: Manifest, app: String, version: String) throws {
        let chunks = installer.chunks
        guard let limit = chunks.limit else { return }
        func needed() -> UInt64 {
            let distinct = manifest.distinctChunks
            return zip(distinct, chunks.presence(distinct.map(\.digest))).reduce(0) { $0 + ($1.1 ? 0 : UInt64($1.0.size)) }
        }
        if needed() > chunks.freeBytes ?? .max { collectGarbage() }
        let need = needed(), free = chunks.freeBytes ?? .max
        guard need <= free else {
            throw UpdateError("not enough room for \(app) \(version): it needs \(ByteCount(need)) more, and --max-store \(ByteCount(limit)) leaves \(ByteCount(free)) free (\(ByteCount(chunks.usedBytes)) held for kept versions)")
        }
    }

    /// Runs `body` but throws ``Superseded`` as soon as the newest notice names another manifest.
    private func withSupersession<T: Sendable>(app: String, target: Digest256, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask { [self] in
                while true {
                    try await Task.sleep(for: .milliseconds(500))
                    if let latest = try store.latest(app: app, channel: settings.channel)?.notice, latest.manifest != target {
                        throw Superseded(app: app, version: latest.version.description)
                    }
                }
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let value = result { return value }
            }
            throw CancellationError()
        }
    }

    /// The manifest, from the cache or from peers, checked against the notice's signature.
    private func obtainManifest(_ signed: SignedNotice, key: PublicKey, cached: Manifest?) async throws -> Manifest {
        let target = signed.notice.manifest
        if let cached, let bytes = manifests.bytes(target) {
            _ = try signed.verify(manifest: bytes, with: key)
            return cached
        }
        let app = signed.notice.app
        let bytes = try await downloads.manifest(target) { [self] in candidates(app: app, manifest: target) }
        let manifest = try signed.verify(manifest: bytes, with: key)
        guard manifest.app == app, manifest.version == signed.notice.version else {
            throw UpdateError("manifest \(target.short) is for \(manifest.app) \(manifest.version), the notice says \(app) \(signed.notice.version)")
        }
        try manifests.put(bytes, digest: target, parsed: manifest)
        return manifest
    }

    // MARK: - Install

    private func install(_ manifest: Manifest, digest: Digest256, notice: Notice, fetchSeconds: Double? = nil, staged: StagedTree? = nil) throws {
        let app = manifest.app
        let version = manifest.version.description
        let lock = installLocks[app]!
        lock.lock()
        defer { lock.unlock() }
        var record = try store.installRecord(app: app)
        // The download took time: an operator's rollback, a halted rollout or a newer notice may have come meanwhile.
        guard let newest = try store.latest(app: app, channel: settings.channel), newest.notice.manifest == digest else {
            throw Superseded(app: app, version: "a newer notice")
        }
        // A rotation during the download retired the notice's key: reconcile again, which waits for a notice signed by the new one.
        guard newest.signature.keyID == keys.key(app)?.keyID else { throw Superseded(app: app, version: "a key rotation") }
        let latest = newest.notice
        if let hold = record.holdSequence, latest.sequence <= hold { return }
        guard Self.inRollout(node: id, manifest: digest, percent: latest.rollout) else {
            logger.info("\(app) \(version): the rollout was narrowed to \(latest.rollout)% while downloading; not installing")
            return
        }
        let path: String
        let started = ContinuousClock.now
        do {
            path = try installer.materialize(manifest, staged: staged)
        } catch let error as InstallError {
            // A stored chunk went bad: it was dropped; the next round fetches it again.
            throw UpdateError("install of \(app) \(version) stopped: \(error)")
        }
        let previous = record.current
        try installer.switchCurrent(app: app, to: version)
        var timing: Logger.Metadata = ["install_s": "\(String(format: "%.3f", Self.seconds(since: started)))"]
        if let fetchSeconds { timing["fetch_s"] = "\(String(format: "%.3f", fetchSeconds))" }
        logger.info("installed \(app) \(version)", metadata: ["path": "\(path)", "sequence": "\(notice.sequence)"].merging(timing) { a, _ in a })
        if let failure = healthCheck(app: app, version: version, path: path, previous: previous?.version) {
            if let previous, previous.version != version {
                try installer.switchCurrent(app: app, to: previous.version)
            } else if previous == nil {
                installer.clearCurrent(app: app)
            }
            logger.error("health check of \(app) \(version) failed: \(failure); back to \(previous?.version ?? "nothing")")
            record.failedVersion = version
            record.failedManifest = digest
            record.failedSequence = notice.sequence
            record.failedReason = failure
            try store.saveInstallRecord(app: app, record, event: ("failed", version, digest, failure))
            publish(app: app)
            return
        }
        if notice.kind == .withdraw {
            // The version left behind was withdrawn: it is not kept for a rollback.
            if record.previous?.version == version { record.previous = nil }
        } else if previous?.version != version {
            record.previous = previous
        }
        record.current = .init(version: version, manifest: digest, sequence: notice.sequence)
        record.failedVersion = nil
        record.failedManifest = nil
        record.failedSequence = nil
        record.failedReason = nil
        record.holdSequence = nil
        try store.saveInstallRecord(app: app, record, event: ("installed", version, digest, "sequence \(notice.sequence)"))
        installer.prune(app: app, keep: Set([record.current?.version, record.previous?.version].compactMap { $0 }))
        publish(app: app)
        collectGarbage()
    }

    /// Runs `--on-install`; nil when it passed (or there is none), else why it failed.
    private func healthCheck(app: String, version: String, path: String, previous: String?) -> String? {
        guard let command = settings.onInstall else { return nil }
        return HealthCheck(command: command, timeout: settings.onInstallTimeout).run(environment: [
            "BUNDLECAST_APP": app, "BUNDLECAST_VERSION": version, "BUNDLECAST_PATH": path, "BUNDLECAST_PREVIOUS_VERSION": previous ?? "",
        ])
    }

    /// ``rollback(app:to:)`` off the cooperative threads (it may wait for a health check and fsyncs).
    func rollbackBlocking(app: String, to requested: String?) async throws -> (from: String, to: String) {
        try await blocking { [self] in try rollback(app: app, to: requested) }
    }

    /// An operator's rollback: `current` goes to a kept earlier version and stays there until a newer notice.
    func rollback(app: String, to requested: String?) throws -> (from: String, to: String) {
        guard let lock = installLocks[app] else { throw UpdateError("this node does not trust \(app)") }
        lock.lock()
        defer { lock.unlock() }
        var record = try store.installRecord(app: app)
        guard let current = record.current else { throw UpdateError("\(app) is not installed on this node") }
        guard let previous = record.previous else { throw UpdateError("\(app) has no earlier version kept on this node") }
        if let requested, requested != previous.version {
            throw UpdateError("\(app) \(requested) is not kept on this node (kept: \(current.version), \(previous.version))")
        }
        guard let manifest = manifests.manifest(previous.manifest) else { throw UpdateError("the manifest of \(app) \(previous.version) is gone") }
        try installer.materialize(manifest)
        try installer.switchCurrent(app: app, to: previous.version)
        let held = try store.latest(app: app, channel: settings.channel)?.notice.sequence ?? current.sequence
        record.current = previous
        record.previous = current
        record.holdSequence = held
        try store.saveInstallRecord(app: app, record, event: ("rollback", previous.version, previous.manifest, "from \(current.version), held until a notice after #\(held)"))
        logger.notice("rolled \(app) back from \(current.version) to \(previous.version); held until a notice newer than #\(held)")
        publish(app: app)
        return (current.version, previous.version)
    }

    // MARK: - Gossip and garbage

    /// Tells the fleet what this node has installed and holds for `app`.
    func publish(app: String) {
        let record = (try? store.installRecord(app: app)) ?? InstallRecord()
        var held: [Digest256] = [record.current?.manifest, record.previous?.manifest].compactMap { $0 }
        held += seeded.withLock { $0[app] ?? [] }
        if let latest = try? store.latest(app: app, channel: settings.channel)?.notice.manifest, !held.contains(latest),
           let m = manifests.manifest(latest), !installer.chunks.presence(m.distinctChunks.map(\.digest)).contains(false) {
            held.append(latest)
        }
        var prefixes: [String] = []
        for d in held where !prefixes.contains(String(d.hex.prefix(16))) { prefixes.append(String(d.hex.prefix(16))) }
        let counters = downloads.node.counters
        let received = counters.bytesIn + counters.bytesSeeded
        state.update { meta in
            meta.transfer = downloads.node.port
            meta.fromPeers = received == 0 ? nil : UInt8(counters.bytesIn * 100 / received)
            var a = meta.apps[app] ?? NodeMetadata.AppState(sequence: 0, version: "")
            a.installed = record.current?.version
            a.installedSequence = record.current?.sequence
            a.held = prefixes.isEmpty ? nil : prefixes
            a.failed = record.failedVersion
            meta.apps[app] = a
        }
    }

    private func reportProgress(app: String, held: UInt64, total: UInt64) {
        let step = total == 0 ? 10 : held * 10 / total
        let now = DispatchTime.now().uptimeNanoseconds
        let send = progressSent.withLock { sent -> Bool in
            if let last = sent[app], last.step == step || now < last.at + 1_000_000_000 { return false }
            sent[app] = (step, now)
            return true
        }
        if send { state.updateApp(app) { $0.progress = UInt8(step * 10) } }
    }

    /// Drops chunks and manifests no kept version, newest notice or seed holding needs.
    private func collectGarbage() {
        var keepManifests = Set<Digest256>()
        for app in keys.apps {
            if let r = try? store.installRecord(app: app) {
                for d in [r.current?.manifest, r.previous?.manifest].compactMap({ $0 }) { keepManifests.insert(d) }
            }
            for d in seeded.withLock({ $0[app] ?? [] }) { keepManifests.insert(d) }
        }
        for n in (try? store.allNotices()) ?? [] { keepManifests.insert(n.notice.manifest) }
        var keepChunks = Set<Digest256>()
        for d in manifests.all() {
            // A manifest seeded through the admin API waits for its notice: kept for an hour (a bounded quarantine).
            guard keepManifests.contains(d) || manifests.age(d) < 3600 else {
                manifests.remove(d)
                continue
            }
            for c in manifests.manifest(d)?.distinctChunks ?? [] { keepChunks.insert(c.digest) }
        }
        let (count, bytes, problem) = installer.chunks.collect(keeping: keepChunks)
        if count > 0 { logger.info("collected \(count) chunks (\(bytes) bytes) no kept version needs") }
        if let problem { logger.warning("\(problem); the store keeps more on disk than it needs until the next collection") }
    }

    // MARK: - Helpers

    /// Members that hold `manifest` complete or are downloading it, with their transfer address.
    func candidates(app: String, manifest: Digest256) -> [TransferCandidate] {
        let prefix = String(manifest.hex.prefix(16))
        return gossip.members.compactMap { m in
            guard m.status == .alive || m.status == .suspect, let meta = NodeMetadata.decode(m.metadata),
                  let port = meta.transfer.flatMap({ UInt16(exactly: $0) }), port != 0, let a = meta.apps[app],
                  a.held?.contains(prefix) == true || a.downloading == prefix else { return nil }
            return TransferCandidate(id: m.id, address: PeerAddress(host: m.address.host, port: port),
                                     sameZone: settings.zone != nil && meta.zone == settings.zone,
                                     complete: a.held?.contains(prefix) == true)
        }
    }

    /// Whether this node is in a rollout of `percent`: a stable bucket in 0..99 from the node id and the
    /// manifest, so ramping 10% → 50% keeps the first 10% in.
    public static func inRollout(node: NodeID, manifest: Digest256, percent: UInt8) -> Bool {
        bucket(node: node, manifest: manifest) < Int(percent)
    }

    /// A duration in whole nanoseconds, 0 unless positive and `Int64.max` (292 years) when longer:
    /// the stagger comes from the command line, and past 292 years seconds times 10^9 overflows
    /// (past 2^63 seconds `components` itself traps, so the bounds are compared first).
    static func nanoseconds(_ duration: Duration) -> Int64 {
        guard duration > .zero else { return 0 }
        guard duration < .nanoseconds(Int64.max) else { return .max }
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    public static func bucket(node: NodeID, manifest: Digest256) -> Int {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: node.high.bigEndian) { bytes += $0 }
        withUnsafeBytes(of: node.low.bigEndian) { bytes += $0 }
        bytes += manifest.bytes
        let d = Blake2b.digest256(bytes).bytes
        let value = d.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return Int(value % 100)
    }

    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            work.async { continuation.resume(with: Result { try body() }) }
        }
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
