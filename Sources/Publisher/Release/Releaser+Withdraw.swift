import BundlecastCore

extension Releaser {
    /// The release versions withdrawals took back on `channel`: for each withdraw notice, the
    /// version the channel's notice just before it named (a withdrawal is only ever issued
    /// against the release the channel was being sent).
    public static func withdrawnVersions(_ notices: [Notice], channel: String) -> Set<SemanticVersion> {
        let onChannel = notices.filter { $0.channel == channel }.sorted { $0.sequence < $1.sequence }
        var withdrawn = Set<SemanticVersion>()
        for (k, n) in onChannel.enumerated() where n.kind == .withdraw && k > 0 && onChannel[k - 1].kind == .release {
            withdrawn.insert(onChannel[k - 1].version)
        }
        return withdrawn
    }

    /// Withdraws the release the fleet is being sent (`version`, named by the
    /// newest notice): a `kind=withdraw` notice with the next sequence that
    /// points back to an earlier release's manifest (`to`, by default the
    /// newest earlier release not itself withdrawn), rollout 100%. Nodes follow
    /// it like an update; the old release notice can no longer be replayed,
    /// since its sequence is lower. Written as `TO.manifest.SEQUENCE.minisig`.
    public func withdraw(app: String, version: SemanticVersion, to requested: SemanticVersion?, key: SecretKey,
                         created: UInt64, lifetime: UInt64, minimumSequence: UInt64 = 1) throws -> (notice: SignedNotice, path: String) {
        let all = try store.notices(app: app).map(\.notice.notice)
        guard let withdrawn = all.last(where: { $0.kind == .release && $0.version == version }) else {
            throw ReleaseError("\(app) \(version) was never released from \(store.directory(app: app))")
        }
        // Everything happens on the channel the release went out on.
        let channel = withdrawn.channel
        let existing = all.filter { $0.channel == channel }
        let latest = existing.last!
        guard latest.version == version, latest.kind == .release else {
            throw ReleaseError("the newest notice of \(app) on \(channel) (#\(latest.sequence), \(latest.kind.rawValue)) names \(latest.version), not \(version): the fleet is not being sent \(version)")
        }
        let gone = Self.withdrawnVersions(existing, channel: channel)
        let earlier = existing.filter { $0.kind == .release && $0.version < version && !gone.contains($0.version) }
        let target: Notice
        if let requested {
            guard requested < version else { throw ReleaseError("--to \(requested) is not earlier than \(version)") }
            guard !gone.contains(requested) else { throw ReleaseError("--to \(requested) was itself withdrawn; choose another") }
            guard let found = earlier.last(where: { $0.version == requested }) else {
                throw ReleaseError("\(app) \(requested) was never released on \(channel) from \(store.directory(app: app))")
            }
            target = found
        } else {
            guard let newest = earlier.max(by: { $0.version < $1.version }) else {
                throw ReleaseError("\(app) has no earlier release to go back to; release a fixed version instead")
            }
            target = newest
        }
        let manifestPath = store.manifestPath(app: app, version: target.version)
        let bytes = try PosixFile.readAll(manifestPath, limit: 64 << 20)
        guard Blake2b.digest256(bytes) == target.manifest else {
            throw ReleaseError("\(manifestPath) is not the manifest its notice names; restore it from the release")
        }
        let sequence = try Self.sequence(after: all.map(\.sequence).max() ?? 0, minimum: minimumSequence, app: app)
        let (expires, overflow) = created.addingReportingOverflow(lifetime)
        guard !overflow else { throw ReleaseError("--expires is too far in the future") }
        let notice = try Notice(kind: .withdraw, app: app, version: target.version, sequence: sequence, channel: withdrawn.channel,
                                manifest: target.manifest, size: target.size, rollout: 100, created: created, expires: expires)
        let signed = try SignedNotice(notice: notice, manifestBytes: bytes, key: key)
        let path = manifestPath + ".\(sequence).minisig"
        try AtomicWrite.createNew(path, bytes: signed.bytes)
        return (signed, path)
    }
}
