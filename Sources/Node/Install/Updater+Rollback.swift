import Policy

/// An operator's rollback (`POST /rollback` on the admin API).
extension Updater {
    /// ``rollback(app:to:)`` off the cooperative threads (it may wait for a health check and fsyncs).
    func rollbackBlocking(app: String, to requested: String?) async throws -> (from: String, to: String) {
        do {
            let done = try await blocking(app) { [self] in try rollback(app: app, to: requested) }
            metrics.rollback("done")
            return done
        } catch {
            metrics.rollback("refused")
            throw error
        }
    }

    /// `current` goes to the kept earlier version and stays there until a newer notice
    /// (``UpdatePolicy/rollback(_:to:)``).
    func rollback(app: String, to requested: String?) throws -> (from: String, to: String) {
        guard let lock = installLocks[app] else { throw UpdateError("this node does not trust \(app)") }
        lock.lock()
        defer { lock.unlock() }
        let plan: UpdatePolicy.Rollback
        switch UpdatePolicy.rollback(try store.installRecord(app: app), to: requested) {
        case .success(let accepted):
            plan = accepted
        case .failure(.notInstalled):
            throw UpdateError("\(app) is not installed on this node")
        case .failure(.nothingKept):
            throw UpdateError("\(app) has no earlier version kept on this node")
        case .failure(.notKept(let requested, let current, let previous)):
            throw UpdateError("\(app) \(requested) is not kept on this node (kept: \(current), \(previous))")
        }
        let (current, previous) = (plan.from, plan.to)
        guard let manifest = manifests.manifest(previous.manifest) else { throw UpdateError("the manifest of \(app) \(previous.version) is gone") }
        // `current` points at the signed manifest's version, never at a name read from the
        // database alone (a damaged row must not point it anywhere else).
        guard manifest.app == app, manifest.version.description == previous.version else {
            throw UpdateError("the database's record of \(app) \(previous.version) names a manifest of \(manifest.app) \(manifest.version): not rolled back")
        }
        try installer.materialize(manifest)
        try installer.switchCurrent(app: app, to: manifest.version.description)
        let record = plan.record(holdingAt: try store.latest(app: app, channel: settings.channel)?.notice.sequence)
        let held = record.holdSequence ?? current.sequence
        try store.saveInstallRecord(app: app, record, event: ("rollback", previous.version, previous.manifest, "from \(current.version), held until a notice after #\(held)"))
        logger.notice("rolled \(app) back from \(current.version) to \(previous.version); held until a notice newer than #\(held)")
        publish(app: app)
        return (current.version, previous.version)
    }
}
