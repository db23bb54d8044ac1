import BundlecastCore
import Foundation
import Gossip
import Policy

/// Fetching what the policy asked for: the manifest, then the missing chunks from peers,
/// given up as soon as a newer notice names another manifest.
extension Updater {
    /// Fetches what `signed` names and installs it (or, seed-only, holds it for peers).
    func fetch(_ signed: SignedNotice, key: PublicKey, cached: Manifest?, missing: Bool) async throws {
        let notice = signed.notice, app = notice.app, target = notice.manifest
        let mirrors = downloads.mirrorSource(app: app, version: notice.version.description, settings: settings.fetch)
        let (manifest, unstored) = try await withSupersession(app: app, target: target) { [self] in
            try await obtainManifest(signed, key: key, cached: cached, mirrors: mirrors)
        }
        var fetchSeconds: Double?
        var staged: StagedTree?
        defer { staged?.abandon() }
        if missing {
            let started = ContinuousClock.now
            // The tree is written as the chunks arrive, and what the store already holds is copied
            // meanwhile, on the app's staging queue (install waits for that copy). The copy starts
            // first: in a delta release it is most of the work, and it needs only the manifest.
            staged = settings.seedOnly ? nil : try stage(manifest)
            if let staged {
                staging(app) { [installer, logger] in
                    let started = ContinuousClock.now
                    staged.fill(from: installer.chunks)
                    logger.info("staged what the store holds of \(app) \(notice.version)", metadata: ["fill_s": "\(String(format: "%.3f", Self.seconds(since: started)))"])
                }
            }
            // Room checked before anything is fetched; it may collect garbage and move chunks
            // between packs: off the concurrency pool.
            try await blocking(app) { [self] in try checkRoom(for: manifest, app: app, version: notice.version.description) }
            // The manifest is stored while the chunks download, not before: its fsyncs wait for
            // whatever the disk has queued, and a delta's copy of the held chunks queues tens of
            // MiB (docs/benchmarks.md, *Delta release*). Peers are told this node is downloading
            // it, and so ask it for the manifest, once it is stored. Until then garbage
            // collection keeps its chunks by `fetching`. Either step failing cancels the other;
            // both have ended before the download is cleared from the metadata, on every path.
            let prefix = String(target.hex.prefix(16))
            fetching.withLock { $0[target] = manifest }
            defer { fetching.withLock { $0[target] = nil } }
            let mirrorNote = mirrors.map { " (and from \($0.mirrors.count) mirror(s) what no peer offers)" } ?? ""
            logger.info("downloading \(app) \(notice.version) from peers\(mirrorNote)", metadata: ["manifest": "\(target.short)", "bytes": "\(notice.size)"])
            let peers: @Sendable () -> [TransferCandidate] = { [self] in candidates(app: app, manifest: target) }
            let write = staged.map { tree in { @Sendable (digest: Digest256, bytes: [UInt8]) in tree.write(digest, bytes) } }
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { [self] in
                        try await blocking(app) { [self] in if let unstored { _ = try manifests.put(unstored, digest: target, parsed: manifest) } }
                        state.updateApp(app) { a in
                            a.downloading = prefix
                            a.progress = a.progress ?? 0
                        }
                    }
                    group.addTask { [self] in
                        try await withSupersession(app: app, target: target) { [self] in
                            try await downloads.chunks(of: manifest, digest: target, settings: settings.fetch, candidates: peers,
                                                       mirrors: mirrors, stored: write) { held, total in
                                self.reportProgress(app: app, held: held, total: total)
                            }
                        }
                    }
                    // `next()` rethrows the first failure at once; leaving the group then cancels
                    // the other step and waits for it (`waitForAll` would wait for both first).
                    while try await group.next() != nil {}
                }
            } catch {
                state.updateApp(app) { $0.downloading = nil; $0.progress = nil }
                // The manifest gives a chunk a size its bytes do not have: no download can succeed.
                if let unfit = error as? InstallError, case .wrongChunkSize = unfit, !settings.seedOnly {
                    let version = notice.version.description, sequence = notice.sequence
                    try await blocking(app) { [self] in
                        try recordUninstallableLocking(unfit, app: app, version: version, digest: target, sequence: sequence)
                    }
                    return
                }
                throw error
            }
            state.updateApp(app) { $0.downloading = nil; $0.progress = nil }
            fetchSeconds = Self.seconds(since: started)
        } else if let unstored {
            try await blocking(app) { [self] in _ = try manifests.put(unstored, digest: target, parsed: manifest) }
        }
        if settings.seedOnly {
            withPolicy(app) { $0.seeded(target) }
            logger.info("holding \(app) \(notice.version) complete (seed only)")
            publish(app: app)
            try await blocking(app) { [self] in collectGarbage() }
            return
        }
        let fetched = fetchSeconds, tree = staged
        try await blocking(app) { [self] in try install(manifest, digest: target, notice: notice, fetchSeconds: fetched, staged: tree) }
    }

    /// The tree laid out for writing while it downloads, or nil (install then writes it from
    /// the store) when it cannot be made. Throws ``NoRoomForTree``: install could not write
    /// it either, so nothing is downloaded (the update is retried every 5 s, `status` says why).
    private func stage(_ manifest: Manifest) throws -> StagedTree? {
        do {
            return try StagedTree(manifest, installer: installer)
        } catch let full as NoRoomForTree {
            throw full
        } catch {
            logger.warning("cannot stage \(manifest.app) \(manifest.version) while it downloads (it is written at install instead): \(error)")
            return nil
        }
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
        if needed() > chunks.freeBytes ?? .max { collectGarbage(forRoom: true) }
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

    /// The manifest, from the cache, from peers or a mirror, checked against the notice's
    /// signature; with its bytes when they came from elsewhere and are still to be stored.
    private func obtainManifest(_ signed: SignedNotice, key: PublicKey, cached: Manifest?,
                                mirrors: MirrorSource?) async throws -> (Manifest, unstored: [UInt8]?) {
        let target = signed.notice.manifest
        if let cached, let bytes = manifests.bytes(target) {
            _ = try signed.verify(manifest: bytes, with: key)
            return (cached, nil)
        }
        let app = signed.notice.app
        let bytes = try await downloads.manifest(target, mirrors: mirrors, changes: { [gossip] in gossip.memberChanges }) { [self] in
            candidates(app: app, manifest: target)
        }
        let manifest = try signed.verify(manifest: bytes, with: key)
        guard manifest.app == app, manifest.version == signed.notice.version else {
            throw UpdateError("manifest \(target.short) is for \(manifest.app) \(manifest.version), the notice says \(app) \(signed.notice.version)")
        }
        return (manifest, bytes)
    }

    /// Members that hold `manifest` complete or are downloading it, with their transfer address.
    func candidates(app: String, manifest: Digest256) -> [TransferCandidate] {
        let prefix = String(manifest.hex.prefix(16))
        let members = gossip.members.filter { $0.status == .alive || $0.status == .suspect }
        return zip(members, decodedMetadata.metadata(of: members)).compactMap { m, meta in
            guard let meta,
                  let port = meta.transfer.flatMap({ UInt16(exactly: $0) }), port != 0, let a = meta.apps[app],
                  a.held?.contains(prefix) == true || a.downloading == prefix else { return nil }
            return TransferCandidate(id: m.id, address: PeerAddress(host: m.address.host, port: port),
                                     sameZone: settings.zone != nil && meta.zone == settings.zone,
                                     complete: a.held?.contains(prefix) == true)
        }
    }
}
