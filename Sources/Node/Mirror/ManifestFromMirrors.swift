import BundlecastCore
import Logging
import Swarm

/// The manifest fallback of one download: once no peer has sent the manifest for
/// ``FetchSettings/mirrorAfter``, the first usable mirror is asked for
/// `URL/VERSION.manifest`, and the next one while it fails. Bytes that do not hash to the
/// notice's manifest digest are wrong bytes: that mirror is skipped for the release. What
/// hashes to it is, by that alone, the manifest the publisher signed; the caller checks
/// the notice's signature over it all the same.
struct ManifestFromMirrors {
    let source: MirrorSource
    let digest: Digest256
    /// Not before this (monotonic nanoseconds): peers are asked first.
    let startAt: UInt64
    var health: MirrorHealth

    init(source: MirrorSource, digest: Digest256, now: UInt64) {
        self.source = source
        self.digest = digest
        let (start, overflow) = now.addingReportingOverflow(source.settings.mirrorAfter)
        startAt = overflow ? .max : start
        health = MirrorHealth(count: source.mirrors.count, refused: source.refused(release: digest, now: now),
                              retry: source.settings.mirrorRetry, retryMax: source.settings.mirrorRetryMax)
    }

    /// Asks the next mirror when one is due; the manifest's bytes if it sent them.
    mutating func next(logger: Logger) async -> [UInt8]? {
        let now = Fetch.now()
        guard now >= startAt, let index = health.usable(now: now) else { return nil }
        let mirror = source.mirrors[index], file = "\(source.version).manifest"
        var result = await source.client.manifest(mirror.manifestURL(version: source.version), limit: ManifestCache.maxBytes, file: file)
        if Task.isCancelled { return nil }
        if case .success(let bytes) = result, Blake2b.digest256(bytes) != digest {
            result = .failure(.wrongBytes("served a \(file) that is not the manifest the notice signs"))
        }
        let after = Fetch.now()
        switch result {
        case .success(let bytes):
            source.book.served(app: source.app, mirror: index, bytes: bytes.count, manifest: true)
            health.record(.served, mirror: index, now: after)
            logger.info("no peer sent the manifest of \(source.app) \(source.version): fetched it from mirror \(mirror)",
                        metadata: ["manifest": "\(digest.short)"])
            return bytes
        case .failure(let problem):
            source.book.problem(app: source.app, mirror: index, problem, release: digest, now: after)
            if health.record(problem.outcome, mirror: index, now: after) {
                logger.warning("mirror \(mirror) \(problem): not asked again for \(source.app) \(source.version)", metadata: ["manifest": "\(digest.short)"])
            } else {
                logger.debug("mirror \(mirror) \(problem)")
            }
            return nil
        }
    }
}
