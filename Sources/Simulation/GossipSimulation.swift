import Gossip

/// Runs the real ``SWIMMembership`` and ``RumourQueue`` of many nodes over a
/// simulated network (latency, loss) in one process, deterministically from
/// a seed: how fast a notice reaches the fleet, what gossip costs, and
/// whether live members are ever declared dead.
///
/// Every node keeps a full member table, as the real node does, but the
/// simulated fleet starts from one shared converged table (``SharedMembers``):
/// each node holds only what changed for it since.
public struct GossipSimulation {
    public struct Settings: Sendable {
        public var nodes = 100
        /// Probability that a message is lost, 0 ... 1.
        public var loss = 0.01
        /// One-way latency, nanoseconds.
        public var latency: UInt64 = 1_000_000
        public var seed: UInt64 = 1
        /// Simulated time after the notice is published.
        public var duration: UInt64 = 60_000_000_000
        public var swim = SWIMSettings()
        public init() {}
    }

    /// What a run measured; times in seconds of simulated time after the notice.
    public struct Report: Sendable, Equatable {
        public var nodes: Int
        public var reached50: Double?
        public var reached99: Double?
        public var reached100: Double?
        public var messagesPerNodePerSecond: Double
        public var bytesPerNodePerSecond: Double
        /// Live members declared dead (every simulated member stays up), counted once per
        /// member and incarnation however many nodes heard it.
        public var falseDeaths: Int
        /// Live members suspected, once per member and incarnation.
        public var falseSuspicions: Int
        /// How many nodes marked a live member suspect or dead (each spread counts once per node).
        public var falseDetectionsHeard: Int
    }

    public static let maxNodes = 20_000

    private enum Event {
        case tick(Int)
        case deliver(to: Int, from: Int, message: Message)
    }

    public static func run(_ settings: Settings) -> Report {
        precondition(settings.nodes >= 2 && settings.nodes <= maxNodes)
        var rng = SplitMix64(seed: settings.seed)
        let n = settings.nodes
        let addresses = (0..<n).map { PeerAddress(host: "10.\($0 >> 16 & 255).\($0 >> 8 & 255).\($0 & 255)", port: 7946) }
        var index: [PeerAddress: Int] = [:]
        for (i, a) in addresses.enumerated() { index[a] = i }
        var nodes = (0..<n).map { i in
            SWIMMembership(id: NodeID.random(using: &rng), address: addresses[i], incarnation: 1, settings: settings.swim,
                           seed: rng.next(), now: 0)
        }
        var notices = (0..<n).map { _ in RumourQueue<Int>(interval: settings.swim.noticeInterval, freshDelay: settings.swim.freshRumourDelay) }
        // The fleet starts converged: everyone knows everyone (one shared table, each node's own
        // changes on top), and no join rumours are pending.
        let shared = SharedMembers(nodes.map(\.me))
        for i in 0..<n { nodes[i].preload(shared: shared) }

        var heap = EventHeap<Event>()
        var scheduled = [UInt64](repeating: .max, count: n)
        func schedule(_ i: Int) {
            // A deadline already past (a fresh rumour after a quiet spell) is due now.
            let t = max(heap.now, min(nodes[i].nextDeadline, notices[i].nextDeadline))
            if t < scheduled[i] {
                scheduled[i] = t
                heap.push(.tick(i), at: t)
            }
        }
        for i in 0..<n { schedule(i) }

        let publishAt: UInt64 = 5_000_000_000
        let end = publishAt + settings.duration
        var reached = [UInt64?](repeating: nil, count: n)
        var messages = 0
        var bytes = 0
        var deaths = Set<[UInt64]>()
        var suspicions = Set<[UInt64]>()
        var heard = 0
        var published = false

        func send(_ directives: [SWIMMembership.Directive], from i: Int, now: UInt64) {
            for directive in directives {
                switch directive {
                case .changed(let m):
                    if m.status == .dead { deaths.insert([m.id.high, m.id.low, m.incarnation]); heard += 1 }
                    if m.status == .suspect { suspicions.insert([m.id.high, m.id.low, m.incarnation]); heard += 1 }
                case .send(let message, let to):
                    transmit(message, from: i, to: index[to]!, now: now)
                }
            }
        }
        func transmit(_ message: Message, from i: Int, to j: Int, now: UInt64) {
            messages += 1
            if case .pushPull = message { bytes += GossipCodec.encodeStream(message).count } else {
                bytes += GossipCodec.encodeDatagram(message).count
            }
            let lost = Double(rng.next() >> 11) / Double(1 << 53) < settings.loss
            if !lost { heap.push(.deliver(to: j, from: i, message: message), at: now + settings.latency) }
        }
        func spread(_ i: Int, now: UInt64) {
            let payloads = notices[i].round(now: now, limit: nodes[i].retransmitLimit)
            guard !payloads.isEmpty else { return }
            for target in nodes[i].randomLiveMembers(settings.swim.gossipFanout).map(\.address) {
                for p in payloads { transmit(.notice(from: nodes[i].me.id, body: [UInt8(truncatingIfNeeded: p)]), from: i, to: index[target]!, now: now) }
            }
        }
        func learn(_ i: Int, now: UInt64) {
            guard reached[i] == nil else { return }
            reached[i] = now
            notices[i].add(1)
        }

        var measureStart: (messages: Int, bytes: Int)?
        while let (now, event) = heap.pop(), now <= end {
            if !published, now >= publishAt {
                published = true
                measureStart = (messages, bytes)
                learn(0, now: publishAt)
                schedule(0)
            }
            switch event {
            case .tick(let i):
                guard scheduled[i] == now else { continue }
                scheduled[i] = .max
                send(nodes[i].tick(now: now), from: i, now: now)
                spread(i, now: now)
                schedule(i)
            case .deliver(let j, let i, let message):
                if case .notice = message {
                    learn(j, now: now)
                } else {
                    send(nodes[j].receive(message, from: addresses[i], now: now), from: j, now: now)
                }
                schedule(j)
            }
        }
        let times = reached.compactMap { $0 }.map { Double($0 - publishAt) / 1e9 }.sorted()
        func quantile(_ q: Double) -> Double? {
            let needed = Int((q * Double(n)).rounded(.up))
            return times.count >= needed ? times[max(0, needed - 1)] : nil
        }
        let seconds = Double(settings.duration) / 1e9
        let base = measureStart ?? (0, 0)
        return Report(
            nodes: n, reached50: quantile(0.5), reached99: quantile(0.99), reached100: quantile(1.0),
            messagesPerNodePerSecond: Double(messages - base.messages) / Double(n) / seconds,
            bytesPerNodePerSecond: Double(bytes - base.bytes) / Double(n) / seconds,
            falseDeaths: deaths.count, falseSuspicions: suspicions.count, falseDetectionsHeard: heard)
    }
}
