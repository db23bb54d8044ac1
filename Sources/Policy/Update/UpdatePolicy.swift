import BundlecastCore
import Gossip

/// When a node updates one app, as a pure state machine: what it knows goes in
/// (the newest accepted notice, what is installed, past failures and holds, the
/// time), a directive comes out, and the updater executes it. No I/O, no clock,
/// no randomness of its own (the stagger comes from a seeded generator), so the
/// node and the simulator follow the very same rules.
///
/// Rules:
/// - what the newest notice of the node's channel names is installed; a notice
///   whose manifest is already current changes nothing;
/// - a notice signed by a key no longer pinned (a rotation or a re-pin retired
///   it) is not acted on: the retired key may be why it was replaced;
/// - an operator's rollback holds what it put back until a notice with a higher
///   sequence; a version whose health check failed is not tried again until a
///   notice with a higher sequence names it;
/// - a node takes part in a rollout of P% when its stable bucket (node id and
///   manifest) is below P, so ramping 10% → 50% keeps the first 10% in;
/// - a download from peers starts after a random stagger, so a fleet does not stampede;
/// - after the download the rules are checked again against the newest notice
///   (it may have been superseded, halted, narrowed or held meanwhile);
/// - a failed health check puts back what was current and remembers the failure;
///   a passed one keeps the version and the one before it (unless a withdrawal
///   left that one behind) for an operator's rollback.
///
/// A seed-only node installs nothing: it fetches what the newest notice names and
/// holds it for its peers, whatever the rollout, holds and failures.
public struct UpdatePolicy: Sendable {
    public struct Settings: Equatable, Sendable {
        /// Fetch and hold for peers, never install.
        public var seedOnly = false
        /// The longest random delay before a download from peers starts (uniform in
        /// 0...stagger), so a fleet that hears of a release at once does not ask at once.
        public var stagger: Duration = .seconds(2)

        public init(seedOnly: Bool = false, stagger: Duration = .seconds(2)) {
            self.seedOnly = seedOnly
            self.stagger = stagger
        }
    }

    /// What the updater knows about an app when it reconciles.
    public struct Facts: Equatable, Sendable {
        /// The newest accepted notice of this node's channel.
        public var notice: Notice
        /// Whether it is signed by the key pinned for the app now.
        public var signedByPinnedKey: Bool
        /// The digest of the signed notice's bytes: a notice under a retired key is reported once.
        public var signedDigest: Digest256
        public var record: InstallRecord

        public init(notice: Notice, signedByPinnedKey: Bool = true, signedDigest: Digest256 = .zero, record: InstallRecord) {
            self.notice = notice
            self.signedByPinnedKey = signedByPinnedKey
            self.signedDigest = signedDigest
            self.record = record
        }
    }

    /// What to do about an app now.
    public enum Directive: Equatable, Sendable {
        /// What the notice names is current: tell the fleet what this node holds.
        case upToDate
        /// Leave everything as it is, for this reason.
        case stay(Stay)
        /// Fetch the manifest and the missing chunks of this manifest, then install it
        /// (ask ``startFetch(_:chunksMissing:now:)`` when).
        case fetchAndInstall(Digest256)
        /// Seed-only: fetch this manifest and its chunks and hold them for peers.
        case fetchAndSeed(Digest256)
    }

    /// Why nothing is done.
    public enum Stay: Equatable, Sendable {
        /// The notice is signed by a key no longer pinned; `firstReport` is true the
        /// first time this notice is seen so (the shell says it once, not at every wake).
        case retiredKey(firstReport: Bool)
        /// An operator's rollback holds what is installed until a notice after this sequence.
        case held(untilAfter: UInt64)
        /// This manifest failed its install under a notice up to this sequence.
        case failedBefore(sequence: UInt64)
        /// This node's bucket is outside the notice's rollout percentage.
        case outsideRollout(percent: UInt8)
        /// Seed-only: the manifest is already held whole.
        case alreadySeeded
    }

    /// When a fetch may start.
    public enum FetchStart: Equatable, Sendable {
        case now
        /// Sleep until this time (on the caller's clock), then reconcile again.
        case waitUntil(UInt64)
    }

    public let settings: Settings
    /// This node: its bucket decides whether it is in a rollout.
    public let node: NodeID

    private var rng: SplitMix64
    /// The stagger drawn for a manifest, so a wait woken early is not drawn again.
    private var staggered: (target: Digest256, until: UInt64)?
    /// Notices already reported as signed by a retired key.
    private var retiredReported: Set<Digest256> = []
    /// Manifests a seed-only node completed (newest last).
    public private(set) var seeded: [Digest256] = []

    /// How many completed manifests a seed-only node holds: the newest, and the one
    /// before it that peers still moving off it may need.
    public static let seedsKept = 2

    /// - Parameter seed: for the stagger.
    public init(node: NodeID, settings: Settings = Settings(), seed: UInt64) {
        self.node = node
        self.settings = settings
        rng = SplitMix64(seed: seed)
    }

    // MARK: - Reconcile

    /// What to do about the newest notice, given what is installed. A stagger drawn for a
    /// fetch this no longer asks for is forgotten, so a release that comes back (a rollout
    /// narrowed, then widened again) draws a fresh delay rather than starting at once.
    public mutating func reconcile(_ facts: Facts) -> Directive {
        let directive = decide(facts)
        if let pending = staggered, directive != .fetchAndInstall(pending.target) { staggered = nil }
        return directive
    }

    private mutating func decide(_ facts: Facts) -> Directive {
        let notice = facts.notice, record = facts.record, target = notice.manifest
        if !settings.seedOnly, record.current?.manifest == target { return .upToDate }
        guard facts.signedByPinnedKey else {
            return .stay(.retiredKey(firstReport: retiredReported.insert(facts.signedDigest).inserted))
        }
        if settings.seedOnly {
            return seeded.last == target ? .stay(.alreadySeeded) : .fetchAndSeed(target)
        }
        if let hold = record.holdSequence, notice.sequence <= hold { return .stay(.held(untilAfter: hold)) }
        if record.failedManifest == target, let failed = record.failedSequence, notice.sequence <= failed {
            return .stay(.failedBefore(sequence: failed))
        }
        guard Self.inRollout(node: node, manifest: target, percent: notice.rollout) else {
            return .stay(.outsideRollout(percent: notice.rollout))
        }
        return .fetchAndInstall(target)
    }

    /// Whether the fetch of `target` starts now or after its stagger. Only a fetch from
    /// peers is staggered: when every chunk is already stored there is nothing to stampede.
    /// The stagger is drawn once per fetch; once it has passed (or the fetch starts) the
    /// next fetch, a retry after an error, draws again.
    public mutating func startFetch(_ target: Digest256, chunksMissing: Bool, now: UInt64) -> FetchStart {
        let longest = UInt64(Self.nanoseconds(settings.stagger))
        guard chunksMissing, longest > 0 else {
            staggered = nil
            return .now
        }
        if let pending = staggered, pending.target == target {
            if now >= pending.until {
                staggered = nil
                return .now
            }
            return .waitUntil(pending.until)
        }
        let delay = UInt64.random(in: 0...longest, using: &rng)
        let until = now.addingReportingOverflow(delay).overflow ? .max : now + delay
        guard until > now else { return .now }
        staggered = (target, until)
        return .waitUntil(until)
    }

    /// Seed-only: `target` is held whole; the oldest beyond ``seedsKept`` is let go.
    public mutating func seeded(_ target: Digest256) {
        seeded.removeAll { $0 == target }
        seeded.append(target)
        if seeded.count > Self.seedsKept { seeded.removeFirst(seeded.count - Self.seedsKept) }
    }

    /// A duration in whole nanoseconds, 0 unless positive and `Int64.max` (292 years) when longer:
    /// the stagger comes from the command line, and past 292 years seconds times 10^9 overflows
    /// (past 2^63 seconds `components` itself traps, so the bounds are compared first).
    public static func nanoseconds(_ duration: Duration) -> Int64 {
        guard duration > .zero else { return 0 }
        guard duration < .nanoseconds(Int64.max) else { return .max }
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
