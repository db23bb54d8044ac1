#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BundlecastCore

/// What the publisher asks for.
public struct ReleaseRequest: Sendable {
    public var bundle: String
    public var app: String
    public var version: SemanticVersion
    public var channel: String = "stable"
    public var rollout: UInt8 = 100
    /// Seconds from `created` until the notice expires.
    public var lifetime: UInt64 = 30 * 86_400
    /// An explicit sequence; must be higher than every one already issued.
    public var sequence: UInt64?
    public var allowDowngrade = false
    /// Unix seconds written as `created`.
    public var created: UInt64
    /// Where the bundle's ``DigestCache`` lives; `nil` hashes every file.
    public var cacheDirectory: String?

    public init(bundle: String, app: String, version: SemanticVersion, created: UInt64) {
        self.bundle = bundle
        self.app = app
        self.version = version
        self.created = created
    }
}

/// What a release produced.
public struct ReleaseSummary: Sendable {
    public let manifest: Manifest
    public let manifestBytes: [UInt8]
    public let notice: SignedNotice
    public let manifestPath: String
    public let noticePath: String
    /// Files whose chunks came from the digest cache.
    public var cacheUse = BundleHasher.CacheUse()
    /// Why the digest cache could not be used or kept, if so (the release is unaffected).
    public var cacheWarning: String?

    public var files: Int { manifest.entries.filter { if case .file = $0.kind { true } else { false } }.count }
    public var symlinks: Int { manifest.entries.count - files }
    public var distinctChunks: Int { Set(manifest.entries.flatMap { $0.chunks.map(\.digest) }).count }
}

/// Chunks, hashes and signs a bundle into the publisher's `Manifests/`.
public struct Releaser: Sendable {
    public let store: ManifestStore

    public init(store: ManifestStore) { self.store = store }

    /// Checks everything that does not need the bundle's bytes, so that a
    /// mistake is reported before a gigabyte is hashed. Returns the sequence.
    public func check(_ request: ReleaseRequest) throws -> UInt64 {
        try Identifier.validateApp(request.app)
        try Identifier.validateChannel(request.channel)
        guard request.rollout <= 100 else { throw ReleaseError("--rollout must be 0...100, not \(request.rollout)") }
        let existing = try store.notices(app: request.app)
        let manifestPath = store.manifestPath(app: request.app, version: request.version)
        if existing.contains(where: { $0.notice.notice.version == request.version }) || access(manifestPath, F_OK) == 0 {
            throw ReleaseError("\(request.app) \(request.version) is already released (\(manifestPath)); choose a new version")
        }
        let releases = existing.map(\.notice.notice).filter { $0.kind == .release }
        if let latest = releases.map(\.version).max(), !(latest < request.version), !request.allowDowngrade {
            throw ReleaseError("\(request.version) is not higher than the latest release \(latest) of \(request.app); pass --allow-downgrade to release it anyway")
        }
        let highest = existing.map(\.notice.notice.sequence).max() ?? 0
        if let sequence = request.sequence {
            guard sequence > highest else {
                throw ReleaseError("--sequence \(sequence) is not higher than \(highest), the highest already issued for \(request.app)")
            }
            guard sequence <= Notice.maxSequence else {
                throw ReleaseError("--sequence \(sequence) is above \(Notice.maxSequence), the highest a node or an origin accepts")
            }
            return sequence
        }
        return try Self.sequence(after: highest, minimum: 1, app: request.app)
    }

    /// The sequence of a new notice: above `highest` (read from notice files, so up to
    /// 2^64-1) and at least `minimum`; throws when none is left that nodes accept
    /// (``Notice/maxSequence``), rather than sign a notice no node would take.
    static func sequence(after highest: UInt64, minimum: UInt64, app: String) throws(ReleaseError) -> UInt64 {
        guard highest < Notice.maxSequence, minimum <= Notice.maxSequence else {
            throw ReleaseError("the sequence of \(app) is exhausted: a notice has sequence \(max(highest, minimum)), and nodes accept at most \(Notice.maxSequence)")
        }
        return max(highest + 1, minimum)
    }

    /// Releases the bundle: scan, hash, sign, write. Nothing is written unless
    /// every step succeeded.
    public func release(
        _ request: ReleaseRequest, key: SecretKey, progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws -> ReleaseSummary {
        let sequence = try check(request)
        let items = try BundleScanner.scan(request.bundle)
        guard !items.isEmpty else { throw ReleaseError("\(request.bundle) holds no files: nothing to release") }
        // A second of margin before the reads start: a file changed in the tick it was read is not recorded.
        let trustBefore = FileStamp.Timestamp.now().adding(seconds: -1)
        var cacheFile: DigestCacheFile?
        var cacheWarning: String?
        if let directory = request.cacheDirectory {
            do { cacheFile = try DigestCacheFile(bundle: request.bundle, directory: directory) } catch {
                cacheWarning = "digest cache not used: \(error)"
            }
        }
        var cache = cacheFile?.load()
        let (entries, cacheUse) = try BundleHasher().entries(
            for: items, root: request.bundle, cache: &cache, trustBefore: trustBefore, progress: progress)
        let manifest = try Manifest(app: request.app, version: request.version, entries: entries)
        let bytes = manifest.encoded()
        guard bytes.count <= Manifest.maxEncodedBytes else {
            throw ReleaseError("the manifest of \(request.bundle) would take \(bytes.count) bytes, over the \(Manifest.maxEncodedBytes) a node accepts (\(items.count) files): release it as several apps, or pack small files together")
        }
        let (expires, overflow) = request.created.addingReportingOverflow(request.lifetime)
        guard !overflow else { throw ReleaseError("--expires is too far in the future") }
        let notice = try Notice(
            kind: .release, app: request.app, version: request.version, sequence: sequence,
            channel: request.channel, manifest: Blake2b.digest256(bytes), size: manifest.totalSize,
            rollout: request.rollout, created: request.created, expires: expires)
        let signed = try SignedNotice(notice: notice, manifestBytes: bytes, key: key)
        try store.write(manifest: bytes, notice: signed)
        if let cacheFile, let cache {
            do { try cacheFile.save(cache) } catch { cacheWarning = "digest cache not saved: \(error)" }
        }
        var summary = ReleaseSummary(
            manifest: manifest, manifestBytes: bytes, notice: signed,
            manifestPath: store.manifestPath(app: request.app, version: request.version),
            noticePath: store.noticePath(app: request.app, version: request.version))
        summary.cacheUse = cacheUse
        summary.cacheWarning = cacheWarning
        return summary
    }
}
