#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BundlecastCore
import Gossip
import Policy
import Swarm

/// The engine behind ``FleetSimulation``: one event heap, one state per node.
struct FleetSimulator {
    enum Event {
        case publish(Int)
        case swimTick(Int)
        case deliver(to: Int, from: Int, message: Message)
        case request(to: Int, from: Int, chunk: Int)
        case chunk(to: Int, from: Int, chunk: Int, bytes: [UInt8])
        case missing(to: Int, from: Int, chunk: Int)
        case plannerTick(Int, generation: Int)
        case refresh(Int, generation: Int)
        /// The update policy's stagger has passed: decide again.
        case reconcile(Int, generation: Int)
        case catchUp(Int)
        case pushPull(Int)
        case malice(Int)
        case crash
        case restart(Int)
        case partition(start: Bool)
    }

    struct Download {
        let release: Int
        var planner: SwarmPlanner
        var peers: [NodeID] = []
        var tickAt: UInt64 = .max
    }

    struct Node {
        let id: NodeID
        let address: PeerAddress
        let malicious: Bool
        var up = true
        var incarnation: UInt64 = 1
        var swim: SWIMMembership
        var rumours: RumourQueue<[UInt8]>
        var catchUp = CatchUp<String>()
        var picker: SplitMix64
        var scheduled: UInt64 = .max
        var nextUploadAt: UInt64 = 0
        // What a node keeps on disk across a crash.
        var accepted: SignedNotice?
        var store: [Int: [UInt8]] = [:]
        var installed: Int?
        /// What is installed and kept, as the node's store records it.
        var record = InstallRecord()
        // In memory only.
        /// The node's update rules and what they remember.
        var update: UpdatePolicy
        var download: Download?
        var generation = 0
        /// Peers banned for bad chunks (node-wide, forgotten in a crash, as in the node).
        var banned: Set<NodeID> = []
    }

    let settings: FleetSimulation.Settings
    var rng: SplitMix64
    var heap = EventHeap<Event>()
    var nodes: [Node] = []
    var index: [PeerAddress: Int] = [:]
    var byID: [NodeID: Int] = [:]
    var report: FleetSimulation.Report
    /// Chunk ids per release (1.0.0, 1.1.0, 1.2.0), their manifests' digests, and the notices.
    let releases: [[Int]]
    var manifests: [Digest256] = []
    var notices: [[UInt8]] = []
    let key: SecretKey
    /// Every node's notice gate: the node's own rule, trusting the publisher's key for `app`.
    let gate: NoticeGate
    /// The publisher's key every node pins.
    let pinned: PublicKey
    let attackerKey: SecretKey
    /// The highest sequence each node ever accepted: its accepted sequence must never be lower.
    var highest: [UInt64]
    var side: [Bool]?
    var done = false

    static let app = "sim"
    static let second: UInt64 = 1_000_000_000
    /// The Unix time notices are checked for expiry at (simulated time counts from zero).
    static let unixTime: UInt64 = 1_800_000_000
    /// The publisher's steps: release 1.0.0, release 1.1.0, withdraw 1.1.0 (back to 1.0.0), release 1.2.0.
    static let steps: [(at: UInt64, release: Int, kind: Notice.Kind)] = [
        (1 * second, 0, .release), (12 * second, 1, .release), (22 * second, 0, .withdraw), (30 * second, 2, .release),
    ]
    static let finalSequence = UInt64(steps.count)
    /// The node's push-pull period (GossipRuntime).
    static let pushPullInterval: UInt64 = 15 * second
    static let finalRelease = 2
    /// The node's update rules, but downloads start at once: the simulation measures how the
    /// swarm spreads a release, which the stagger only delays.
    static let updateSettings = UpdatePolicy.Settings(seedOnly: false, stagger: .zero)

    init(_ settings: FleetSimulation.Settings) {
        self.settings = settings
        rng = SplitMix64(seed: settings.seed)
        report = FleetSimulation.Report(seed: settings.seed)
        let c = settings.chunksPerRelease
        // 1.1.0 shares all but a sixth of 1.0.0's chunks; 1.2.0 all but a third.
        releases = [Array(0..<c), Array(0..<(c - c / 6)) + Array(1000..<(1000 + c / 6)), Array(0..<(c - c / 3)) + Array(2000..<(2000 + c / 3))]
        key = SecretKey.fromSeed([UInt8](repeating: 7, count: 32), keyID: KeyID(bytes: [UInt8](repeating: 1, count: 8))!)
        attackerKey = SecretKey.fromSeed([UInt8](repeating: 9, count: 32), keyID: KeyID(bytes: [UInt8](repeating: 1, count: 8))!)
        gate = NoticeGate(trusted: [Self.app: key.publicKey])
        pinned = key.publicKey
        let total = settings.nodes + settings.malicious
        highest = Array(repeating: 0, count: total)
        for i in 0..<total {
            let address = PeerAddress(host: "10.0.\(i >> 8).\(i & 255)", port: 7946)
            let id = NodeID.random(using: &rng)
            let swim = SWIMMembership(id: id, address: address, incarnation: 1, metadata: Self.metadata(sequence: 0, holds: 0),
                                      seed: rng.next(), now: 0)
            nodes.append(Node(id: id, address: address, malicious: i >= settings.nodes, swim: swim,
                              rumours: RumourQueue(interval: SWIMSettings().noticeInterval), picker: SplitMix64(seed: rng.next()),
                              update: UpdatePolicy(node: id, settings: Self.updateSettings, seed: id.low)))
            index[address] = i
            byID[id] = i
        }
        for r in releases.indices {
            let manifest = Array("bundlecast simulated manifest \(r)".utf8)
            manifests.append(Blake2b.digest256(manifest))
        }
        for (sequence, step) in Self.steps.enumerated() {
            let manifest = Array("bundlecast simulated manifest \(step.release)".utf8)
            let notice = try! Notice(kind: step.kind, app: Self.app, version: SemanticVersion("1.\(step.release).0"),
                                     sequence: UInt64(sequence + 1), channel: "stable", manifest: manifests[step.release],
                                     size: UInt64(releases[step.release].count * 48), rollout: 100, created: 1_700_000_000, expires: 4_000_000_000)
            notices.append(try! SignedNotice(notice: notice, manifestBytes: manifest, key: key).bytes)
        }
    }

    // MARK: - Run

    mutating func run() -> FleetSimulation.Report {
        // The fleet starts converged: everyone knows everyone.
        let state = nodes.map { $0.swim.fullState()[0] }
        for i in nodes.indices { nodes[i].swim.preload(state, now: 0) }
        for i in nodes.indices {
            schedule(i)
            heap.push(.catchUp(i), at: 2 * Self.second + UInt64(i) * 10_000_000)
            heap.push(.pushPull(i), at: rng.next() % Self.pushPullInterval)
            if nodes[i].malicious { heap.push(.malice(i), at: Self.second + UInt64(i) * 10_000_000) }
        }
        for (k, step) in Self.steps.enumerated() { heap.push(.publish(k), at: step.at) }
        heap.push(.crash, at: nextCrashDelay())
        if settings.partitions { heap.push(.partition(start: true), at: 5 * Self.second + rng.next() % (5 * Self.second)) }
        let limit = settings.faultsUntil + settings.convergeWithin
        while !done, let (now, event) = heap.pop(), now <= limit {
            report.events += 1
            handle(event, now: now)
            if now >= settings.faultsUntil { checkConverged(now: now) }
        }
        if report.convergedAfter == nil {
            let behind = honest.filter { nodes[$0].installed != Self.finalRelease }.map { "n\($0)" }
            violation("not converged \(Double(settings.convergeWithin) / 1e9) s after the faults stopped: \(behind.joined(separator: ", ")) not on 1.2.0")
        }
        return report
    }

    /// Honest nodes that install (node 0 is the publisher's seed: it holds and serves only).
    var honest: [Int] { Array(1..<settings.nodes) }

    mutating func handle(_ event: Event, now: UInt64) {
        switch event {
        case .publish(let k):
            let release = Self.steps[k].release
            for chunk in releases[release] { nodes[0].store[chunk] = Self.content(chunk) }
            accept(0, notices[k], now: now)
            updateMetadata(0, now: now)
        case .swimTick(let i):
            guard nodes[i].up, nodes[i].scheduled == now else { return }
            nodes[i].scheduled = .max
            perform(i, nodes[i].swim.tick(now: now), now: now)
            spreadRumours(i, now: now)
            schedule(i)
        case .deliver(let to, let from, let message):
            guard nodes[to].up else { return }
            if case .notice(_, let body) = message {
                if !nodes[to].malicious { accept(to, body, now: now) }
            } else {
                perform(to, nodes[to].swim.receive(message, from: nodes[from].address, now: now), now: now)
                schedule(to)
            }
        case .request(let to, let from, let chunk):
            guard nodes[to].up else { return }
            serve(chunk, by: to, to: from, now: now)
        case .chunk(let to, let from, let chunk, let bytes):
            guard nodes[to].up else { return }
            receive(chunk, bytes: bytes, at: to, from: from, now: now)
        case .missing(let to, let from, let chunk):
            guard nodes[to].up, let d = nodes[to].download, let position = releases[d.release].firstIndex(of: chunk) else { return }
            apply(to, nodes[to].download!.planner.refused(chunk: position, by: nodes[from].id, now: now), now: now)
        case .plannerTick(let i, let generation):
            guard nodes[i].up, nodes[i].generation == generation, let d = nodes[i].download, d.tickAt <= now else { return }
            nodes[i].download!.tickAt = .max
            apply(i, nodes[i].download!.planner.tick(now: now), now: now)
        case .refresh(let i, let generation):
            guard nodes[i].up, nodes[i].generation == generation, nodes[i].download != nil else { return }
            refreshPeers(i, now: now)
            heap.push(.refresh(i, generation: generation), at: now + 500_000_000)
        case .reconcile(let i, let generation):
            guard nodes[i].up, nodes[i].generation == generation, let release = target(i) else { return }
            startDownload(i, release: release, now: now)
        case .catchUp(let i):
            heap.push(.catchUp(i), at: now + 2 * Self.second)
            guard nodes[i].up, !nodes[i].malicious, let accepted = nodes[i].accepted else { return }
            let latest = [Self.app: (sequence: accepted.notice.sequence, body: accepted.bytes)]
            let targets = nodes[i].catchUp.targets(latest: latest, members: nodes[i].swim.members, me: nodes[i].id, now: now) { member, _ in
                Self.sequence(inMetadata: member.metadata)
            }
            for target in targets { transmit(.notice(from: nodes[i].id, body: target.body), from: i, to: index[target.address]!, now: now) }
        case .pushPull(let i):
            // As the node's shell does: full state with one live member, and a retry of one member declared dead.
            heap.push(.pushPull(i), at: now + Self.pushPullInterval)
            guard nodes[i].up else { return }
            perform(i, nodes[i].swim.pushPullTarget() + nodes[i].swim.reconnectTarget(now: now), now: now)
        case .malice(let i):
            heap.push(.malice(i), at: now + Self.second)
            guard nodes[i].up else { return }
            malice(i, now: now)
        case .crash:
            guard now < settings.faultsUntil else { return }
            heap.push(.crash, at: now + nextCrashDelay())
            let candidates = (1..<nodes.count).filter { nodes[$0].up }
            guard !candidates.isEmpty else { return }
            crash(candidates[Int(rng.next() % UInt64(candidates.count))], now: now)
        case .restart(let i):
            restart(i, now: now)
        case .partition(let start):
            if start {
                guard now < settings.faultsUntil else { return }
                report.partitions += 1
                side = nodes.indices.map { _ in rng.next() % 2 == 0 }
                heap.push(.partition(start: false), at: min(settings.faultsUntil, now + 3 * Self.second + rng.next() % (6 * Self.second)))
            } else {
                side = nil
                heap.push(.partition(start: true), at: now + 5 * Self.second + rng.next() % (10 * Self.second))
            }
        }
    }

    // MARK: - Network

    mutating func transmit(_ message: Message, from i: Int, to j: Int, now: UInt64) {
        send(.deliver(to: j, from: i, message: message), from: i, to: j, at: now + settings.latency)
    }

    /// Queues an event between two nodes unless the message is lost or the partition cuts it.
    mutating func send(_ event: Event, from i: Int, to j: Int, at time: UInt64) {
        if let side, side[i] != side[j] { return }
        if settings.loss > 0, time < settings.faultsUntil, Double(rng.next() >> 11) / Double(1 << 53) < settings.loss { return }
        heap.push(event, at: time)
    }

    mutating func schedule(_ i: Int) {
        // A deadline already past (a fresh rumour after a quiet spell) is due now.
        let t = max(heap.now, min(nodes[i].swim.nextDeadline, nodes[i].rumours.nextDeadline))
        if t < nodes[i].scheduled {
            nodes[i].scheduled = t
            heap.push(.swimTick(i), at: t)
        }
    }

    mutating func perform(_ i: Int, _ directives: [SWIMMembership.Directive], now: UInt64) {
        for directive in directives {
            switch directive {
            case .send(let message, let to):
                guard let j = index[to] else { continue }
                transmit(message, from: i, to: j, now: now)
            case .changed(let member):
                if member.status == .dead || member.status == .left, nodes[i].download?.peers.contains(member.id) == true {
                    nodes[i].download!.peers.removeAll { $0 == member.id }
                    apply(i, nodes[i].download!.planner.removePeer(member.id, now: now), now: now)
                }
            }
        }
    }

    mutating func spreadRumours(_ i: Int, now: UInt64) {
        let payloads = nodes[i].rumours.round(now: now, limit: nodes[i].swim.retransmitLimit)
        guard !payloads.isEmpty else { return }
        var live = nodes[i].swim.members.filter { $0.status == .alive || $0.status == .suspect }.map(\.address)
        live.shuffle(using: &nodes[i].picker)
        for target in live.prefix(SWIMSettings().gossipFanout) {
            for body in payloads { transmit(.notice(from: nodes[i].id, body: body), from: i, to: index[target]!, now: now) }
        }
    }

    // MARK: - Metadata: accepted sequence (u64) and which releases are held whole (bit per release)

    static func metadata(sequence: UInt64, holds: UInt8) -> [UInt8] {
        withUnsafeBytes(of: sequence.bigEndian, Array.init) + [holds]
    }

    static func sequence(inMetadata bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 9 else { return nil }
        return bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func holds(inMetadata bytes: [UInt8], release: Int) -> Bool {
        bytes.count == 9 && bytes[8] & (1 << release) != 0
    }

    mutating func updateMetadata(_ i: Int, now: UInt64) {
        let node = nodes[i]
        var holds: UInt8 = 0
        for r in releases.indices where node.malicious || releases[r].allSatisfy({ node.store[$0] != nil }) { holds |= 1 << r }
        let bytes = Self.metadata(sequence: node.accepted?.notice.sequence ?? 0, holds: holds)
        guard bytes != nodes[i].swim.me.metadata else { return }
        perform(i, nodes[i].swim.setMetadata(bytes), now: now)
        schedule(i)
    }

    // MARK: - Helpers

    /// A chunk's bytes: 48 bytes from its id.
    static func content(_ chunk: Int) -> [UInt8] {
        var g = SplitMix64(seed: UInt64(chunk) &+ 0x5EED)
        return (0..<6).flatMap { _ in withUnsafeBytes(of: g.next(), Array.init) }
    }

    mutating func nextCrashDelay() -> UInt64 {
        // Exponential with the configured mean, from the run's generator.
        let u = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-9)
        return UInt64(-log(u) * Double(settings.meanTimeBetweenCrashes))
    }

    mutating func violation(_ text: String) {
        report.violations.append(text)
    }
}
