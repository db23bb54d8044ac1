import BundlecastCore
import Synchronization

/// The node's record of its mirrors, per app in the operator's order: what each served,
/// what it got wrong, and the releases it is skipped for.
///
/// A mirror that served bytes that are not a release (a chunk or manifest whose digest does
/// not match, or an answer that breaks the range rules) is skipped for that release for
/// ``refusalLasts``, also by a download of it that starts again (after a newer notice came
/// and went, or an error): whatever it holds under that version is not the release, and
/// asking again would only fetch the same wrong bytes. It stays in use for other releases,
/// since a mirror still being filled, or filled with the wrong build, is not an attacker
/// every time. Status, metrics and the log show it.
public final class MirrorBook: Sendable {
    /// Nanoseconds a mirror stays skipped for a release it served wrong bytes for.
    public static let refusalLasts: UInt64 = 3_600_000_000_000
    /// Releases remembered per mirror as skipped (the oldest is forgotten first).
    static let maxRefusals = 64

    struct Record: Sendable {
        let app: String
        let mirror: ReleaseMirror
        var chunks = 0
        var bytes: UInt64 = 0
        var manifests = 0
        /// Chunks and manifests whose bytes did not match their digest.
        var wrongBytes = 0
        /// Answers that broke the range rules (a 200 for part of a file, a wrong Content-Range...).
        var badAnswers = 0
        /// Requests that got no usable answer (no connection, time-out, 5xx, 404).
        var failures = 0
        var lastProblem: String?
        /// Releases it is skipped for, and until when (monotonic nanoseconds).
        var refused: [(release: Digest256, until: UInt64)] = []
    }

    private let records = Mutex<[String: [Record]]>([:])

    public init() {}

    /// The mirrors of each app, in the operator's order (a later call for an app replaces them).
    public func register(_ mirrors: [String: [ReleaseMirror]]) {
        records.withLock { records in
            for (app, list) in mirrors { records[app] = list.map { Record(app: app, mirror: $0) } }
        }
    }

    func mirrors(of app: String) -> [ReleaseMirror] {
        records.withLock { $0[app]?.map(\.mirror) ?? [] }
    }

    /// Per mirror of `app`, whether it is skipped for `release` now.
    func refused(app: String, release: Digest256, now: UInt64) -> [Bool] {
        records.withLock { $0[app]?.map { r in r.refused.contains { $0.release == release && $0.until > now } } ?? [] }
    }

    /// A chunk (or a manifest) the mirror served that matched its digest.
    func served(app: String, mirror: Int, bytes: Int, manifest: Bool = false) {
        update(app, mirror) { r in
            if manifest { r.manifests += 1 } else { r.chunks += 1 }
            r.bytes = saturatingSum(r.bytes, UInt64(bytes))
        }
    }

    /// An answer not used; a refusal skips the mirror for `release` until ``refusalLasts`` from `now`.
    func problem(app: String, mirror: Int, _ problem: MirrorProblem, release: Digest256, now: UInt64) {
        update(app, mirror) { r in
            r.lastProblem = problem.reason
            switch problem.kind {
            case .unavailable:
                r.failures += 1
                return
            case .refused: r.badAnswers += 1
            case .wrongBytes: r.wrongBytes += 1
            }
            r.refused.removeAll { $0.release == release || $0.until <= now }
            if r.refused.count >= Self.maxRefusals { r.refused.removeFirst() }
            r.refused.append((release, saturatingSum(now, Self.refusalLasts)))
        }
    }

    /// Bytes of chunks all mirrors served (for the share of bytes from peers).
    var chunkBytes: UInt64 {
        records.withLock { $0.values.joined().reduce(UInt64(0)) { saturatingSum($0, $1.bytes) } }
    }

    /// What status shows, apps in name order, each app's mirrors in the operator's order.
    func views(now: UInt64) -> [NodeStatus.MirrorView] {
        records.withLock { records in
            records.keys.sorted().flatMap { app in
                records[app]!.map { r in
                    NodeStatus.MirrorView(app: r.app, url: r.mirror.base, chunks: r.chunks, bytes: r.bytes, manifests: r.manifests,
                                          wrongBytes: r.wrongBytes, badAnswers: r.badAnswers, failures: r.failures, lastProblem: r.lastProblem,
                                          skippedFor: r.refused.filter { $0.until > now }.map { String($0.release.hex.prefix(16)) })
                }
            }
        }
    }

    private func update(_ app: String, _ mirror: Int, _ body: (inout Record) -> Void) {
        records.withLock { records in
            guard records[app]?.indices.contains(mirror) == true else { return }
            body(&records[app]![mirror])
        }
    }
}

private func saturatingSum(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? .max : sum
}
