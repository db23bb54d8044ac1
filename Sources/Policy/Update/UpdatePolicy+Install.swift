import BundlecastCore

/// The install itself: the rules checked again once the download is done, and what
/// the health check's outcome makes of the record.
extension UpdatePolicy {
    /// Whether a downloaded manifest is installed.
    public enum BeforeInstall: Equatable, Sendable {
        case install
        /// The newest notice no longer allows it: reconcile again.
        case superseded(Supersession)
        /// An operator's rollback came during the download: what it put back stays.
        case held
        /// The rollout was narrowed during the download and this node fell out of it.
        case rolloutNarrowed(percent: UInt8)
    }

    public enum Supersession: Equatable, Sendable {
        /// The newest notice names another manifest (or there is none any more).
        case newerNotice
        /// The newest notice's key was retired by a rotation: only one signed by the new key is acted on.
        case keyRotation
    }

    /// The outcome of the `--on-install` health check (passed when there is none).
    public enum HealthOutcome: Equatable, Sendable {
        case passed
        case failed(reason: String)
    }

    /// What becomes of the install once its health check ran.
    public enum AfterInstall: Equatable, Sendable {
        /// It stays current: save `record`, and keep on disk only its current and previous versions.
        case keep(InstallRecord)
        /// It goes: put `restore` back and save `record`, which remembers the failure.
        case rollBack(Restore, InstallRecord)
    }

    /// What is made current again after a failed health check.
    public enum Restore: Equatable, Sendable {
        /// The version that was current before.
        case version(String)
        /// Nothing was installed before: no version is current.
        case nothing
        /// The version that was current before is the one that failed (the same version
        /// under another manifest): nothing to switch back to.
        case leaveAsIs
    }

    /// The rules again, under the install lock, against the newest notice: the download
    /// took time, and an operator's rollback, a halted or narrowed rollout, a newer notice
    /// or a rotation may have come meanwhile. (A failure is not checked again: nothing
    /// but this download could have recorded one.)
    public func beforeInstall(_ target: Digest256, newest: Notice?, signedByPinnedKey: Bool, record: InstallRecord) -> BeforeInstall {
        guard let newest, newest.manifest == target else { return .superseded(.newerNotice) }
        guard signedByPinnedKey else { return .superseded(.keyRotation) }
        if let hold = record.holdSequence, newest.sequence <= hold { return .held }
        guard Self.inRollout(node: node, manifest: target, percent: newest.rollout) else {
            return .rolloutNarrowed(percent: newest.rollout)
        }
        return .install
    }

    /// The record after `installed` went in under `notice` and its health check gave `outcome`.
    /// `record` is as it was before the install (its `current` is what the install replaced).
    ///
    /// A passed check makes `installed` current and the version it replaced the one kept for
    /// a rollback; under a withdrawal the withdrawn version left behind is not kept. It clears
    /// any failure and hold. A failed check puts back what was current and records the failure
    /// against the notice's sequence, so only a newer notice tries that manifest again.
    public static func afterInstall(_ installed: InstallRecord.Installed, under notice: Notice, outcome: HealthOutcome,
                                    record: InstallRecord) -> AfterInstall {
        var record = record
        let previous = record.current
        if case .failed(let reason) = outcome {
            let restore: Restore
            if let previous {
                restore = previous.version != installed.version ? .version(previous.version) : .leaveAsIs
            } else {
                restore = .nothing
            }
            record.failedVersion = installed.version
            record.failedManifest = installed.manifest
            record.failedSequence = notice.sequence
            record.failedReason = reason
            return .rollBack(restore, record)
        }
        if notice.kind == .withdraw {
            if record.previous?.version == installed.version { record.previous = nil }
        } else if previous?.version != installed.version {
            record.previous = previous
        }
        record.current = installed
        record.failedVersion = nil
        record.failedManifest = nil
        record.failedSequence = nil
        record.failedReason = nil
        record.holdSequence = nil
        return .keep(record)
    }
}
