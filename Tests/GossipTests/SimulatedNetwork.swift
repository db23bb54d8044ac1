import Gossip

/// Runs SWIM state machines over an in-memory network with a virtual clock:
/// deterministic from its seed, no sleeps, no sockets.
struct SimulatedNetwork {
    struct Envelope {
        let at: UInt64
        let order: UInt64
        let from: PeerAddress
        let to: PeerAddress
        let message: Message
    }

    var nodes: [SWIMMembership] = []
    var down: Set<Int> = []
    /// Directed links that drop everything: (from index, to index).
    var broken: Set<[Int]> = []
    var now: UInt64 = 0
    var latency: UInt64 = 1_000_000
    var loss: Double = 0
    var sent = 0
    /// As the node's shell does, every node pushes and pulls full state with one random member this often.
    var pushPullInterval: UInt64 = 15 * 1_000_000_000
    private var nextPushPull: UInt64 = 15 * 1_000_000_000
    private var queue: [Envelope] = []
    private var order: UInt64 = 0
    private var rng: SplitMix64
    private var index: [PeerAddress: Int] = [:]

    init(count: Int, seed: UInt64, settings: SWIMSettings = SWIMSettings()) {
        rng = SplitMix64(seed: seed)
        for i in 0..<count {
            let address = PeerAddress(host: "10.0.0.\(i)", port: 7946)
            let id = NodeID.random(using: &rng)
            nodes.append(SWIMMembership(id: id, address: address, incarnation: 1, settings: settings, seed: rng.next(), now: 0))
            index[address] = i
        }
    }

    func address(_ i: Int) -> PeerAddress { nodes[i].me.address }

    /// Every node joins through node 0.
    mutating func joinAll() {
        for i in 1..<nodes.count { deliver(from: i, nodes[i].join([address(0)])) }
    }

    mutating func deliver(from i: Int, _ directives: [SWIMMembership.Directive]) {
        for case .send(let message, let to) in directives {
            sent += 1
            guard let j = index[to], !down.contains(i), !broken.contains([i, j]) else { continue }
            if loss > 0, Double(rng.next() % 1_000_000) / 1_000_000 < loss { continue }
            order += 1
            queue.append(Envelope(at: now + latency, order: order, from: address(i), to: to, message: message))
        }
    }

    /// Advances virtual time to `end`, delivering messages and ticking nodes at their deadlines.
    mutating func run(until end: UInt64) {
        while true {
            let nextMessage = queue.min { ($0.at, $0.order) < ($1.at, $1.order) }
            var nextTick = UInt64.max
            var who = -1
            for (i, node) in nodes.enumerated() where !down.contains(i) && node.nextDeadline < nextTick {
                nextTick = node.nextDeadline
                who = i
            }
            let next = min(nextMessage?.at ?? .max, nextTick, nextPushPull)
            guard next <= end else { break }
            now = max(now, next)
            if nextPushPull <= now && nextPushPull <= (nextMessage?.at ?? .max) && nextPushPull <= nextTick {
                nextPushPull = now + pushPullInterval
                for i in nodes.indices where !down.contains(i) {
                    deliver(from: i, nodes[i].pushPullTarget() + nodes[i].reconnectTarget(now: now))
                }
            } else if let m = nextMessage, m.at <= nextTick {
                queue.removeAll { $0.order == m.order }
                guard let j = index[m.to], !down.contains(j) else { continue }
                let out = nodes[j].receive(m.message, from: m.from, now: now)
                deliver(from: j, out)
            } else if who >= 0 {
                let out = nodes[who].tick(now: now)
                deliver(from: who, out)
            }
        }
        now = end
    }

    /// What node `i` believes of node `j`.
    func status(of j: Int, at i: Int) -> Member.Status? { nodes[i].member(nodes[j].me.id)?.status }
}

let second: UInt64 = 1_000_000_000
