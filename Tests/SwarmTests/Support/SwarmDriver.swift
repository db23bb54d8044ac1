import Gossip
import Testing
@testable import Swarm

/// Runs a planner against simulated peers (fast, slow, silent, lying, leaving,
/// still downloading) and checks the planner's promises after every event.
struct SwarmDriver {
    struct Entry: Equatable {
        let now: UInt64
        let directive: SwarmPlanner.Directive
    }

    private struct Peer {
        var has: [Bool]
        /// nil: never answers.
        let latency: UInt64?
        /// Every chunk it sends fails its digest.
        let bad: Bool
    }

    private enum Script {
        case join(NodeID, sameZone: Bool, rtt: UInt64?)
        case haves(NodeID)
        case announce(NodeID, Int)
        case leave(NodeID)
    }

    static let settings = makeSettings {
        $0.initialWindow = 4; $0.minWindow = 1; $0.maxWindow = 8
        $0.maxBytesInFlight = 20_000; $0.requestTimeout = 300 * ms
        $0.randomFirst = 4; $0.endgameDuplicates = 2; $0.downloadBytesPerSecond = 200_000
    }

    private(set) var planner: SwarmPlanner
    private(set) var log: [Entry] = []
    private let sizes: [UInt32]
    private var peers: [NodeID: Peer] = [:]
    private var script: [(at: UInt64, event: Script)] = []
    private var pending: [(at: UInt64, peer: NodeID, chunk: Int)] = []
    private var held: [Bool]
    private var rng: SplitMix64
    private var now: UInt64 = 0
    private var requestedBytes: UInt64 = 0

    init(plannerSeed: UInt64, scenarioSeed: UInt64 = 42, chunks: Int = 60) {
        rng = SplitMix64(seed: scenarioSeed)
        var sizes: [UInt32] = []
        for _ in 0..<chunks { sizes.append(UInt32(500 + rng.next() % 3500)) }
        self.sizes = sizes
        held = Array(repeating: false, count: chunks)
        planner = SwarmPlanner(sizes: sizes, held: held, settings: Self.settings, seed: plannerSeed, now: 0)

        func some(_ percent: UInt64) -> [Bool] { (0..<chunks).map { _ in rng.next() % 100 < percent } }
        let seeder = peer(1), partial = peer(2), liar = peer(3), silent = peer(4), leecher = peer(5), leaver = peer(6)
        peers[seeder] = Peer(has: Array(repeating: true, count: chunks), latency: 30 * ms, bad: false)
        peers[partial] = Peer(has: some(70), latency: 20 * ms, bad: false)
        peers[liar] = Peer(has: Array(repeating: true, count: chunks), latency: 2 * ms, bad: true)
        peers[silent] = Peer(has: some(50), latency: nil, bad: false)
        peers[leecher] = Peer(has: Array(repeating: false, count: chunks), latency: 10 * ms, bad: false)
        peers[leaver] = Peer(has: some(60), latency: 15 * ms, bad: false)
        script = [
            (0, .join(silent, sameZone: true, rtt: 1 * ms)), (0, .haves(silent)),
            (0, .join(liar, sameZone: true, rtt: 2 * ms)), (0, .haves(liar)),
            (5 * ms, .join(partial, sameZone: false, rtt: 20 * ms)), (5 * ms, .haves(partial)),
            (10 * ms, .join(leaver, sameZone: true, rtt: 15 * ms)), (10 * ms, .haves(leaver)),
            (20 * ms, .join(leecher, sameZone: false, rtt: 10 * ms)),
            (40 * ms, .join(seeder, sameZone: false, rtt: 40 * ms)), (40 * ms, .haves(seeder)),
            (150 * ms, .leave(leaver)),
        ]
        for i in 0..<20 {
            script.append((UInt64(30 + 10 * i) * ms, .announce(leecher, Int(rng.next() % UInt64(chunks)))))
        }
    }

    /// Runs until complete (or stuck), checking every batch of directives.
    mutating func run() {
        for _ in 0..<100_000 {
            if planner.isComplete, log.contains(where: { $0.directive == .complete }) { break }
            let scripted = script.first?.at ?? .max
            let delivery = pending.indices.min { (pending[$0].at, pending[$0].peer) < (pending[$1].at, pending[$1].peer) }
            let deliveryAt = delivery.map { pending[$0].at } ?? .max
            let deadline = planner.nextDeadline
            if scripted != .max, scripted <= deliveryAt, scripted <= deadline {
                now = max(now, scripted)
                play(script.removeFirst().event)
            } else if let delivery, deliveryAt <= deadline {
                now = max(now, deliveryAt)
                let arrival = pending.remove(at: delivery)
                let valid = !peers[arrival.peer]!.bad
                if valid { held[arrival.chunk] = true }
                check(planner.received(chunk: arrival.chunk, from: arrival.peer, valid: valid, now: now))
            } else if deadline != .max {
                now = max(now, deadline)
                check(planner.tick(now: now))
            } else {
                break
            }
        }
    }

    private mutating func play(_ event: Script) {
        switch event {
        case let .join(id, sameZone, rtt):
            check(planner.addPeer(id, sameZone: sameZone, now: now))
            if let rtt { planner.peerRTT(id, nanoseconds: rtt) }
        case let .haves(id):
            check(planner.peerHas(id, bitfield: peers[id]!.has, now: now))
        case let .announce(id, chunk):
            peers[id]!.has[chunk] = true
            check(planner.peerHas(id, chunk: chunk, now: now))
        case let .leave(id):
            pending.removeAll { $0.peer == id }
            check(planner.removePeer(id, now: now))
        }
    }

    /// The planner's promises, for one batch of directives.
    private mutating func check(_ batch: [SwarmPlanner.Directive]) {
        // Requests in flight per chunk now, minus this batch's requests: the
        // state just before planning, into which the batch is replayed.
        var copies = Array(repeating: 0, count: sizes.count)
        for id in planner.peers {
            for chunk in planner.inFlight(to: id) { copies[chunk] += 1 }
            #expect(planner.inFlight(to: id).count <= Self.settings.maxWindow)
        }
        for case let .request(_, chunk) in batch { copies[chunk] -= 1 }

        for directive in batch {
            log.append(Entry(now: now, directive: directive))
            switch directive {
            case let .request(id, chunk):
                #expect(peers[id]!.has[chunk], "asked \(id.short) for chunk \(chunk) it does not have")
                #expect(!held[chunk], "asked for held chunk \(chunk)")
                #expect(!planner.isBanned(id))
                if copies[chunk] > 0 {
                    #expect(copies[chunk] < Self.settings.endgameDuplicates)
                    let endgame = held.indices.allSatisfy { held[$0] || copies[$0] > 0 }
                    #expect(endgame, "duplicate request for chunk \(chunk) outside endgame")
                }
                copies[chunk] += 1
                requestedBytes += UInt64(sizes[chunk])
                let allowance = UInt64(sizes.max()!) + Self.settings.downloadBytesPerSecond! * now / second
                #expect(requestedBytes <= allowance, "rate limit exceeded")
                if let latency = peers[id]!.latency {
                    pending.append((now + latency + rng.next() % latency, id, chunk))
                }
            case let .cancel(id, chunk):
                #expect(held[chunk])
                pending.removeAll { $0.peer == id && $0.chunk == chunk }
            case let .ban(id):
                #expect(peers[id]!.bad, "banned an honest peer")
                pending.removeAll { $0.peer == id }
            case .complete:
                #expect(held.allSatisfy { $0 })
            }
        }
        let inFlight = planner.peers.reduce(0) { $0 + planner.inFlight(to: $1).count }
        #expect(planner.bytesInFlight <= Self.settings.maxBytesInFlight || inFlight == 1)
    }
}
