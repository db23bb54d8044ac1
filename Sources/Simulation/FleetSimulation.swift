import BundlecastCore
import Gossip

/// Gossip and swarm together under faults, deterministically from a seed: every node runs the
/// real ``SWIMMembership``, ``RumourQueue`` and ``CatchUp`` for notices, checks every notice's
/// real Ed25519 signature against the pinned key, and downloads with the real ``SwarmPlanner``,
/// checking every chunk's real BLAKE2b digest. Meanwhile nodes crash and restart (keeping what
/// a node keeps on disk), messages are lost, the fleet splits in two and heals, and malicious
/// members gossip forged notices and replays and serve corrupt chunks.
///
/// The publisher releases 1.0.0, then 1.1.0, withdraws 1.1.0 (back to 1.0.0), then releases
/// 1.2.0. Invariants, checked at every step: a node installs only a manifest a genuine notice
/// named, whole and verified; its accepted sequence never goes down (crashes included); its
/// installed version changes only to what its newest accepted notice names (going back only
/// by the signed withdrawal). Once faults stop, every honest node must converge to 1.2.0.
/// A failing seed reproduces exactly.
public enum FleetSimulation {
    public struct Settings: Sendable {
        public var nodes = 12
        /// Members that forge, replay and corrupt (not counted in `nodes`).
        public var malicious = 2
        public var seed: UInt64 = 1
        /// Probability that a message is lost (until `faultsUntil`).
        public var loss = 0.01
        public var latency: UInt64 = 2_000_000
        /// Mean simulated time between two crashes anywhere in the fleet.
        public var meanTimeBetweenCrashes: UInt64 = 3_000_000_000
        /// Partitions of the fleet in two, until `faultsUntil`.
        public var partitions = true
        /// Faults (crashes, partitions, loss) stop here; releases are all out by then.
        public var faultsUntil: UInt64 = 45_000_000_000
        /// Honest nodes must have converged this long after the faults stop.
        public var convergeWithin: UInt64 = 120_000_000_000
        public var chunksPerRelease = 24
        public var uploadBytesPerSecond: UInt64 = 2 << 20
        /// Breaks one of the node's rules on purpose, to show the invariant that catches it.
        public var sabotage: Sabotage?
        public init() {}
    }

    public enum Sabotage: String, Sendable, CaseIterable {
        /// The notice gate skips the signature check.
        case acceptUnsigned
        /// Chunks are stored without checking their digest.
        case storeUnverified
        /// A crash loses the accepted sequence (as if it were not persisted).
        case forgetSequence
    }

    public struct Report: Sendable, Equatable {
        public var seed: UInt64
        public var events = 0
        public var crashes = 0
        public var partitions = 0
        public var forgedRefused = 0
        public var staleRefused = 0
        public var badChunks = 0
        public var bans = 0
        public var installs = 0
        /// Seconds after the faults stopped until every honest node ran the last release.
        public var convergedAfter: Double?
        /// Broken invariants, in the order found; empty when the run is sound.
        public var violations: [String] = []

        public init(seed: UInt64) { self.seed = seed }
    }

    public static func run(_ settings: Settings) -> Report {
        var simulator = FleetSimulator(settings)
        return simulator.run()
    }
}
