import BundlecastCore
import Foundation
import Logging
import Policy

/// The install transaction: checked again against the newest notice, written, switched
/// to, health-checked, and kept or rolled back as ``UpdatePolicy`` says.
extension Updater {
    func install(_ manifest: Manifest, digest: Digest256, notice: Notice, fetchSeconds: Double? = nil, staged: StagedTree? = nil) throws {
        let app = manifest.app
        let version = manifest.version.description
        let lock = installLocks[app]!
        lock.lock()
        defer { lock.unlock() }
        let record = try store.installRecord(app: app)
        let newest = try store.latest(app: app, channel: settings.channel)
        let pinned = newest.map { $0.signature.keyID == keys.key(app)?.keyID } ?? false
        switch withPolicy(app, { $0.beforeInstall(digest, newest: newest?.notice, signedByPinnedKey: pinned, record: record) }) {
        case .install:
            break
        case .superseded(.newerNotice):
            throw Superseded(app: app, version: "a newer notice")
        case .superseded(.keyRotation):
            // Reconciling again waits for a notice signed by the new key.
            throw Superseded(app: app, version: "a key rotation")
        case .held:
            return
        case .rolloutNarrowed(let percent):
            logger.info("\(app) \(version): the rollout was narrowed to \(percent)% while downloading; not installing")
            return
        }
        let path: String
        let started = ContinuousClock.now
        do {
            path = try installer.materialize(manifest, staged: staged)
        } catch let error as InstallError {
            metrics.install("failed")
            if case .wrongChunkSize = error {
                return try recordUninstallable(error, app: app, version: version, digest: digest, sequence: notice.sequence)
            }
            // A stored chunk went bad: it was dropped; the next round fetches it again.
            throw UpdateError("install of \(app) \(version) stopped: \(error)")
        }
        let previous = record.current
        try installer.switchCurrent(app: app, to: version)
        var timing: Logger.Metadata = ["install_s": "\(String(format: "%.3f", Self.seconds(since: started)))"]
        if let sync = staged?.syncSeconds { timing["sync_s"] = "\(String(format: "%.3f", sync))" }
        if let fetchSeconds {
            timing["fetch_s"] = "\(String(format: "%.3f", fetchSeconds))"
            metrics.fetched(after: .seconds(fetchSeconds))
        }
        logger.info("installed \(app) \(version)", metadata: ["path": "\(path)", "sequence": "\(notice.sequence)"].merging(timing) { a, _ in a })
        let outcome = healthCheck(app: app, version: version, path: path, previous: previous?.version)
        metrics.installed(after: ContinuousClock.now - started)
        let installed = InstallRecord.Installed(version: version, manifest: digest, sequence: notice.sequence)
        switch UpdatePolicy.afterInstall(installed, under: notice, outcome: outcome, record: record) {
        case .rollBack(let restore, let failed):
            switch restore {
            case .version(let earlier): try installer.switchCurrent(app: app, to: earlier)
            case .nothing: installer.clearCurrent(app: app)
            case .leaveAsIs: break
            }
            let reason = failed.failedReason ?? ""
            logger.error("health check of \(app) \(version) failed: \(reason); back to \(previous?.version ?? "nothing")")
            try store.saveInstallRecord(app: app, failed, event: ("failed", version, digest, reason))
            metrics.install("rolled_back")
            // Told first, so the content server has moved on before the failed version's files go.
            publish(app: app)
            keepOnly(failed, app: app)
        case .keep(let kept):
            try store.saveInstallRecord(app: app, kept, event: ("installed", version, digest, "sequence \(notice.sequence)"))
            metrics.install("installed")
            // Told first, so the content server has moved on before the pruned version's files go.
            publish(app: app)
            keepOnly(kept, app: app)
        }
    }

    /// After every install, kept or rolled back: only the trees of the versions `record` keeps
    /// (current and previous) stay on disk, and chunks no kept version, notice or seed needs go.
    /// A failed version's tree is needed by nothing (status, `rollback` and the content server
    /// read the record, which keeps the failure); left, each failure kept a whole tree, and
    /// failures in a row filled the disk until no tree could be laid out (``NoRoomForTree``).
    private func keepOnly(_ record: InstallRecord, app: String) {
        if !installer.prune(app: app, keep: Set([record.current?.version, record.previous?.version].compactMap { $0 })) {
            logger.warning("\(installer.directory(app: app)) is not a directory of its own (a symlink?): old versions of \(app) are not removed; point --data at the disk instead")
        }
        collectGarbage()
    }

    /// A release whose manifest gives a chunk a size its bytes do not have
    /// (``InstallError/wrongChunkSize(_:listed:actual:)``) cannot be installed as signed, and
    /// fetching it again changes nothing: its failure is recorded as a failed health check's
    /// is, against the notice's sequence, so only a newer notice is tried. What is installed
    /// stays. The caller holds the app's install lock.
    func recordUninstallable(_ error: InstallError, app: String, version: String, digest: Digest256, sequence: UInt64) throws {
        var record = try store.installRecord(app: app)
        record.failedVersion = version
        record.failedManifest = digest
        record.failedSequence = sequence
        record.failedReason = "\(error)"
        logger.error("\(app) \(version) cannot be installed: \(error); not tried again until a newer notice")
        try store.saveInstallRecord(app: app, record, event: ("failed", version, digest, "\(error)"))
        publish(app: app)
    }

    /// ``recordUninstallable(_:app:version:digest:sequence:)`` under the app's install lock
    /// (a download that failed holds none).
    func recordUninstallableLocking(_ error: InstallError, app: String, version: String, digest: Digest256, sequence: UInt64) throws {
        guard let lock = installLocks[app] else { throw UpdateError("this node does not trust \(app)") }
        lock.lock()
        defer { lock.unlock() }
        try recordUninstallable(error, app: app, version: version, digest: digest, sequence: sequence)
    }

    /// Runs `--on-install`; passed when it exits 0 (or there is none).
    private func healthCheck(app: String, version: String, path: String, previous: String?) -> UpdatePolicy.HealthOutcome {
        guard let command = settings.onInstall else { return .passed }
        let failure = HealthCheck(command: command, timeout: settings.onInstallTimeout).run(environment: [
            "BUNDLECAST_APP": app, "BUNDLECAST_VERSION": version, "BUNDLECAST_PATH": path, "BUNDLECAST_PREVIOUS_VERSION": previous ?? "",
        ])
        return failure.map { .failed(reason: $0) } ?? .passed
    }
}
