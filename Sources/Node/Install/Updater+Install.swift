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
            // A stored chunk went bad: it was dropped; the next round fetches it again.
            metrics.install("failed")
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
            publish(app: app)
        case .keep(let kept):
            try store.saveInstallRecord(app: app, kept, event: ("installed", version, digest, "sequence \(notice.sequence)"))
            metrics.install("installed")
            // Told first, so the content server has moved on before the pruned version's files go.
            publish(app: app)
            if !installer.prune(app: app, keep: Set([kept.current?.version, kept.previous?.version].compactMap { $0 })) {
                logger.warning("\(installer.directory(app: app)) is not a directory of its own (a symlink?): old versions of \(app) are not removed; point --data at the disk instead")
            }
            collectGarbage()
        }
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
