#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BundlecastCore

extension Releaser {
    /// A new notice for an existing release with another rollout percentage:
    /// the next sequence, the same manifest and channel, signed afresh, written
    /// as `VERSION.manifest.SEQUENCE.minisig`. Percent 0 halts a rollout where
    /// it stands (nodes already on it keep it; no one else starts).
    public func rollout(app: String, version: SemanticVersion, percent: UInt8, key: SecretKey, created: UInt64,
                        lifetime: UInt64, minimumSequence: UInt64 = 1) throws -> (notice: SignedNotice, path: String) {
        guard percent <= 100 else { throw ReleaseError("--percent must be 0...100, not \(percent)") }
        let existing = try store.notices(app: app)
        guard let release = existing.last(where: { $0.notice.notice.version == version && $0.notice.notice.kind == .release })?.notice.notice else {
            throw ReleaseError("\(app) \(version) was never released from \(store.directory(app: app))")
        }
        guard !Self.withdrawnVersions(existing.map(\.notice.notice), channel: release.channel).contains(version) else {
            throw ReleaseError("\(app) \(version) was withdrawn; release a new version instead")
        }
        let manifestPath = store.manifestPath(app: app, version: version)
        let bytes = try PosixFile.readAll(manifestPath, limit: 64 << 20)
        guard Blake2b.digest256(bytes) == release.manifest else {
            throw ReleaseError("\(manifestPath) is not the manifest its notice names; restore it from the release")
        }
        let highest = existing.map(\.notice.notice.sequence).max() ?? 0
        let sequence = try Self.sequence(after: highest, minimum: minimumSequence, app: app)
        let (expires, overflow) = created.addingReportingOverflow(lifetime)
        guard !overflow else { throw ReleaseError("--expires is too far in the future") }
        let notice = try Notice(kind: .release, app: app, version: version, sequence: sequence, channel: release.channel,
                                manifest: release.manifest, size: release.size, rollout: percent, created: created, expires: expires)
        let signed = try SignedNotice(notice: notice, manifestBytes: bytes, key: key)
        let path = manifestPath + ".\(sequence).minisig"
        try AtomicWrite.createNew(path, bytes: signed.bytes)
        return (signed, path)
    }
}
