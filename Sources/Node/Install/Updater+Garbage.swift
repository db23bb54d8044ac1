import BundlecastCore
import Dispatch
import Policy

/// What the fleet is told this node holds, download progress, and collecting what no
/// kept version needs.
extension Updater {
    /// Tells the fleet what this node has installed and holds for `app`.
    func publish(app: String) {
        let read = { try? self.store.installRecord(app: app) }
        let record = (releases.map { $0.refresh(app: app, read: read) } ?? read()) ?? InstallRecord()
        var held: [Digest256] = [record.current?.manifest, record.previous?.manifest].compactMap { $0 }
        held += seeded(app)
        if let latest = try? store.latest(app: app, channel: settings.channel)?.notice.manifest, !held.contains(latest),
           let m = manifests.manifest(latest), installer.chunks.holdsEveryChunk(of: m) {
            held.append(latest)
        }
        var prefixes: [String] = []
        for d in held where !prefixes.contains(String(d.hex.prefix(16))) { prefixes.append(String(d.hex.prefix(16))) }
        let counters = downloads.node.counters
        let received = counters.bytesIn + counters.bytesSeeded + downloads.mirrors.chunkBytes
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

    func reportProgress(app: String, held: UInt64, total: UInt64) {
        let step = total == 0 ? 10 : held * 10 / total
        let now = DispatchTime.now().uptimeNanoseconds
        if shouldReport(app, step: step, now: now) { state.updateApp(app) { $0.progress = UInt8(step * 10) } }
    }

    /// Drops chunks and manifests no kept version, newest notice or seed holding needs.
    ///
    /// When what must be kept cannot be known (an install record that does not read, a kept
    /// manifest damaged on disk) nothing is dropped, unless `forRoom`: a download that needs
    /// the room goes ahead, and the unreadable version loses its chunks (its tree stays
    /// installed; only serving it to peers and going back to it suffer).
    func collectGarbage(forRoom: Bool = false) {
        var keepManifests = Set<Digest256>()
        for app in keys.apps {
            do {
                let r = try store.installRecord(app: app)
                for d in [r.current?.manifest, r.previous?.manifest].compactMap({ $0 }) { keepManifests.insert(d) }
            } catch {
                logger.warning("the install record of \(app) does not read (\(error)): \(forRoom ? "collecting anyway, for room" : "no chunks collected")")
                guard forRoom else { return }
            }
            for d in seeded(app) { keepManifests.insert(d) }
        }
        for n in (try? store.allNotices()) ?? [] { keepManifests.insert(n.notice.manifest) }
        var keepChunks = Set<Digest256>()
        for d in manifests.all() {
            // A manifest seeded through the admin API waits for its notice: kept for an hour (a bounded quarantine).
            guard keepManifests.contains(d) || manifests.age(d) < 3600 else {
                manifests.remove(d)
                continue
            }
            // A kept manifest that no longer reads (damaged on disk) still needs its chunks, and
            // which they are cannot be known: nothing is collected until a good copy is back.
            guard let manifest = manifests.manifest(d) else {
                logger.warning("manifest \(d.short) on disk does not match its digest: \(forRoom ? "collecting anyway, for room" : "no chunks collected until it is fetched or seeded again")")
                guard forRoom else { return }
                continue
            }
            for c in manifest.distinctChunks { keepChunks.insert(c.digest) }
        }
        // A download whose manifest is still being stored (``fetch(_:key:cached:missing:)``).
        for manifest in fetching.withLock({ Array($0.values) }) {
            for c in manifest.distinctChunks { keepChunks.insert(c.digest) }
        }
        let (count, bytes, problem) = installer.chunks.collect(keeping: keepChunks)
        if count > 0 { logger.info("collected \(count) chunks (\(bytes) bytes) no kept version needs") }
        if let problem { logger.warning("\(problem); the store keeps more on disk than it needs until the next collection") }
    }
}
