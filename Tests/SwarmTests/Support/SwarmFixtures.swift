import Gossip
@testable import Swarm

/// Nanoseconds in a millisecond and a second, for readable clocks.
let ms: UInt64 = 1_000_000
let second: UInt64 = 1_000_000_000

/// Small, readable peer ids: `peer(1) < peer(2)`.
func peer(_ n: UInt64) -> NodeID { NodeID(high: 0, low: n) }

/// Settings with the changes a test cares about.
func makeSettings(_ change: (inout SwarmSettings) -> Void = { _ in }) -> SwarmSettings {
    var s = SwarmSettings()
    change(&s)
    return s
}

/// A planner over `count` chunks of `size` bytes, none held.
func planner(chunks count: Int, size: UInt32 = 1000, seed: UInt64 = 1, now: UInt64 = 0,
             _ change: (inout SwarmSettings) -> Void = { _ in }) -> SwarmPlanner {
    SwarmPlanner(sizes: Array(repeating: size, count: count), held: Array(repeating: false, count: count),
                 settings: makeSettings(change), seed: seed, now: now)
}

/// A have-set of `count` entries with `chunks` set.
func bits(_ count: Int, _ chunks: [Int]) -> [Bool] {
    (0..<count).map { chunks.contains($0) }
}

extension Array where Element == SwarmPlanner.Directive {
    /// The chunks requested, in order, from any peer.
    var requestedChunks: [Int] {
        compactMap { if case let .request(_, chunk) = $0 { chunk } else { nil } }
    }

    /// The peers asked, in order.
    var requestedPeers: [NodeID] {
        compactMap { if case let .request(peer, _) = $0 { peer } else { nil } }
    }

    /// The chunks requested from one peer, in order.
    func chunks(to target: NodeID) -> [Int] {
        compactMap { if case let .request(peer, chunk) = $0, peer == target { chunk } else { nil } }
    }
}
