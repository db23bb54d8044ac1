import Gossip
import Swarm

/// Runs the real ``SwarmPlanner`` of every node over a simulated network:
/// one seed holding the bundle and N nodes fetching it, each uploader a
/// link of `uploadBytesPerSecond` whose requests queue per requester and are
/// served in turns (``UploadQueue``, as the node's pacer does), one-way
/// `latency`, messages lost with probability `loss`.
/// The node's own ``FetchSettings`` drive it (``nodeSettings`` says how each is modelled):
/// each node dials `maxPeers` random others
/// plus the seed (every node and the seed take the first `maxConnections` that dial them, as a
/// node's connection limit does) and takes peers that dial it as sources; every `refresh`, while
/// it lacks a chunk no peer offers, it also dials nodes that finished until `extraHolders` of
/// its peers hold the whole bundle; stored chunks are
/// announced to every neighbour (`has`), batched per 20 ms; the seed (a `--seed-only` node)
/// refuses a chunk it queued for another peer less than `resendAfter` ago while its link is busy
/// (super-seeding), while the nodes serve whatever they hold. Notices reach the nodes by gossip: each starts after
/// `latency · ceil(log₃ N)` plus up to one 200 ms gossip tick (the gossip
/// simulation's measured spread, not simulated again here).
///
/// Deterministic from the seed: the same settings give the same output.
public enum SwarmSimulation {
    public struct Settings: Sendable {
        public var nodes = 20
        public var bundleBytes: UInt64 = 64 << 20
        public var chunkBytes: UInt32 = 64 << 10
        public var uploadBytesPerSecond: UInt64 = 20 << 20
        public var latency: UInt64 = 1_000_000
        public var loss = 0.0
        public var seed: UInt64 = 1
        /// The node's download settings, its defaults unless a run changes them.
        public var fetch = FetchSettings()
        /// Peers each node and the seed take, as a node's inbound share of `maxConnections`
        /// (256, less the quarter it keeps for its own dials): the first to dial it; a dial to
        /// a node that has this many fails.
        public var maxConnections = 192
        /// A node sends the `has` frames of the chunks it stored together, at most once per
        /// this long, and at once after a quiet spell (the shell's ``NewsPacing``).
        public var hasDelay: UInt64 = 20_000_000
        /// How often a node's download looks at its deadlines (the shell's 50 ms timer).
        public var tickEvery: UInt64 = 50_000_000
        /// Uploads served in turns per requester (the shell's default); false: in arrival order.
        public var uploadsInTurns = true
        /// What caps each uploader's link at `uploadBytesPerSecond`.
        public var links = Links.paced
        /// The seed's super-seeding window: the node's own default.
        public var resendAfter: UInt64 = SuperSeeding<Int>(refuses: true).resendAfter
        /// CPU each received chunk costs (receive, hash, store, its share of sending and
        /// installing), in nanoseconds; 0: CPU is free.
        public var cpuPerChunk: UInt64 = 0
        /// Cores the whole fleet shares (a test machine running every node); 0: a core per node.
        public var sharedCores = 0
        /// The width of the intervals of the run's ``SwarmUploadLedger``, nanoseconds.
        public var ledgerInterval: UInt64 = 100_000_000
        /// Simulated time after which the run stops even if nodes are missing chunks.
        public var limit: UInt64 = 3_600_000_000_000
        public init() {}
    }

    /// What caps an uploader's link; downloads are never capped, and the network between
    /// the hosts has no queues of its own (the one-way `latency` only).
    public enum Links: String, Sendable, CaseIterable {
        /// The node itself (`--max-upload-rate`, the loopback benchmark and `PROGRAM_CAPS=1`
        /// in namespaces): requests wait in its ``UploadQueue`` and are served in turns at
        /// the rate in chunk bytes, booked 50 ms ahead (a cancel removes a request not
        /// booked yet); the seed super-seeds.
        case paced
        /// The kernel only (tbf on each host's link, `LINKS=netns` of bench-swarm.sh): the node
        /// does not know its rate, so it does not pace and writes what it is asked for at once,
        /// up to 16 MiB (``TransferNode``'s bulk budget) ahead of the link, where no cancel
        /// reaches it; the seed super-seeds, its link busy until what it wrote has gone out
        /// (``TransferNode/superSeedsOnBackPressure``); TCP shares the link between the requesters (turns, at
        /// chunk granularity here); the rate counts whole 1514-byte frames, 1448 bytes of
        /// them chunk bytes.
        case kernel
    }

    public struct Result: Sendable {
        public var completed: Int
        public var reached50: Double?
        public var reached99: Double?
        public var reached100: Double?
        public var lowerBound: Double
        public var seedCopies: Double
        public var events: Int
        /// Where the upload capacity went, interval by interval.
        public var ledger: SwarmUploadLedger
    }

    private enum Event {
        case start(Int)
        /// A download looks at its candidates again (``FetchSettings/refresh``).
        case refresh(Int)
        case request(from: Int, to: Int, chunk: Int)
        case chunk(to: Int, from: Int, chunk: Int)
        /// The chunk's CPU work is done: the receiver stores it.
        case processed(to: Int, from: Int, chunk: Int)
        case missing(to: Int, from: Int, chunk: Int)
        case has(to: Int, from: Int, chunk: Int)
        /// The `has` frames one node queued for another, sent together.
        case hasBatch(to: Int, from: Int, chunks: [Int])
        /// A node's queued `has` frames go out.
        case flushHas(Int)
        /// An uploader's link is free for its next turns.
        case pump(Int)
        /// A requester withdraws a request (an endgame duplicate that came from elsewhere).
        case cancel(from: Int, to: Int, chunk: Int)
        case tick(Int)
    }

    public static func run(_ s: Settings) -> Result {
        var rng = SplitMix64(seed: s.seed)
        let n = s.nodes
        let count = Int((s.bundleBytes + UInt64(s.chunkBytes) - 1) / UInt64(s.chunkBytes))
        let sizes = (0..<count).map { i in
            UInt32(min(UInt64(s.chunkBytes), s.bundleBytes - UInt64(i) * UInt64(s.chunkBytes)))
        }
        // Index 0 is the seed; 1...n the nodes. Node ids for the planner are their indexes.
        let ids = (0...n).map { NodeID(high: 0, low: UInt64($0)) }
        var neighbours = Array(repeating: Set<Int>(), count: n + 1)
        // The peers each node dialled (the seed first): those it counts toward `extraHolders`.
        var dialled = Array(repeating: [Int](), count: n + 1)
        for i in 1...n {
            if neighbours[0].count < s.maxConnections {
                neighbours[i].insert(0)
                neighbours[0].insert(i)
                dialled[i].append(0)
            }
            // `maxPeers` distinct others drawn at random (no shuffled copy of the fleet per node);
            // one that is full refuses, and another is drawn.
            var others: [Int] = []
            var draws = 0
            while others.count < min(s.fetch.maxPeers, n - 1), draws < 64 * s.fetch.maxPeers {
                draws += 1
                let j = Int.random(in: 1...n, using: &rng)
                if j != i, !others.contains(j), !neighbours[i].contains(j), neighbours[j].count < s.maxConnections { others.append(j) }
            }
            dialled[i] += others
            for j in others {
                neighbours[i].insert(j)
                neighbours[j].insert(i)
            }
        }
        // Sorted once: iterating a Set would follow the per-process hash seed, not the run's seed.
        // Peers dialled later are appended, in the run's order.
        var neighbourList = neighbours.map { $0.sorted() }
        // Nodes holding the whole bundle, the seed first, in the order they finished.
        var finished = [0]
        var complete = Array(repeating: false, count: n + 1)
        complete[0] = true
        var planners: [SwarmPlanner?] = Array(repeating: nil, count: n + 1)
        var held = Array(repeating: Array(repeating: false, count: count), count: n + 1)
        held[0] = Array(repeating: true, count: count)
        // Each uploader's link: requests queue per requester and are served in turns, as the shell does.
        let kernel = s.links == .kernel
        let payloadRate = kernel ? s.uploadBytesPerSecond * 1448 / 1514 : s.uploadBytesPerSecond
        let committed = kernel ? UInt64(16 << 20) * 1_000_000_000 / max(1, payloadRate) : 50_000_000
        var links = Array(repeating: UploadQueue<(from: Int, chunk: Int)>(bytesPerSecond: payloadRate, lookahead: committed), count: n + 1)
        var pumpAt = Array(repeating: UInt64.max, count: n + 1)
        // The queue a requester's requests wait in: its own, or in arrival order the one shared queue.
        func queue(of requester: Int) -> NodeID { s.uploadsInTurns ? ids[requester] : ids[0] }
        // Each uploader's books of which requester each chunk went to: the seed refuses as a node's does.
        var seeding = (0...n).map { SuperSeeding<Int>(refuses: $0 == 0, resendAfter: s.resendAfter) }
        var doneAt: [UInt64] = []
        var hasQueue = Array(repeating: [Int](), count: n + 1)
        var hasPacing = Array(repeating: NewsPacing(delay: s.hasDelay), count: n + 1)
        var seedBytes: UInt64 = 0
        var ledger = SwarmUploadLedger(nodes: n, bytesPerSecond: max(1, s.uploadBytesPerSecond), width: s.ledgerInterval)
        // Which chunks the seed has sent at least once, and how many.
        var seedSent = Array(repeating: false, count: count), seedSentCount = 0
        var heap = EventHeap<Event>()
        var events = 0
        var hops = 1, reach = 3
        while reach < n { reach *= 3; hops += 1 }
        for i in 1...n {
            heap.push(.start(i), at: s.latency * UInt64(hops) + UInt64.random(in: 0...200_000_000, using: &rng))
        }

        func send(_ event: Event, at time: UInt64) {
            if s.loss > 0, Double.random(in: 0..<1, using: &rng) < s.loss { return }
            heap.push(event, at: time)
        }

        // As the node's ``FetchPolicy/refreshDue(now:lacksSource:)``, but decided when the next
        // refresh is scheduled (a node asks its planner at every 50 ms step, so a download that
        // comes to lack a source looks sooner there than here).
        func refreshInterval(_ node: Int) -> UInt64 {
            s.fetch.refreshInterval(lacksSource: planners[node]?.lacksSource == true)
        }

        func apply(_ node: Int, _ directives: [SwarmPlanner.Directive], now: UInt64) {
            for d in directives {
                switch d {
                case .request(let peer, let chunk): send(.request(from: node, to: Int(peer.low), chunk: chunk), at: now + s.latency)
                case .complete:
                    doneAt.append(now)
                    ledger.finished(node, at: now)
                    complete[node] = true
                    finished.append(node)
                case .cancel(let peer, let chunk): send(.cancel(from: node, to: Int(peer.low), chunk: chunk), at: now + s.latency)
                case .ban: break
                }
            }
        }

        // A received chunk is stored, counted by the planner, and announced to the neighbours.
        func store(to: Int, from: Int, chunk: Int, now: UInt64) {
            let fresh = !held[to][chunk]
            held[to][chunk] = true
            if fresh { ledger.stored(to, at: now) } else { ledger.duplicate(sizes[chunk], at: now) }
            // In place (`planners[i]!.event(...)`): a copy out and back would copy every have-set per event.
            apply(to, planners[to]!.received(chunk: chunk, from: ids[from], valid: true, now: now), now: now)
            if fresh {
                hasQueue[to].append(chunk)
                if hasQueue[to].count == 1 { heap.push(.flushHas(to), at: now + hasPacing[to].wait(now: now)) }
            }
        }
        // The uploader's link gives its next turns: each chunk leaves when its slot ends.
        func pump(_ u: Int, now: UInt64) {
            for booking in links[u].book(now: now) {
                let (from, chunk) = booking.item
                // The link's rate, at least 1 byte/s: the settings' may be 0.
                let end = max(now, booking.start + UInt64(sizes[chunk]) * 1_000_000_000 / links[u].bytesPerSecond)
                ledger.sent(sizes[chunk], by: u, at: booking.start)
                if u == 0 {
                    seedBytes += UInt64(sizes[chunk])
                    if !seedSent[chunk] {
                        seedSent[chunk] = true
                        seedSentCount += 1
                        if seedSentCount == count { ledger.seedCopyDone = Double(booking.start) / 1e9 }
                    }
                }
                send(.chunk(to: from, from: u, chunk: chunk), at: end + s.latency)
            }
            if let next = links[u].nextBooking, next < pumpAt[u] {
                pumpAt[u] = max(next, now + 1)
                heap.push(.pump(u), at: pumpAt[u])
            }
        }
        var cores = Array(repeating: UInt64(0), count: s.sharedCores > 0 ? s.sharedCores : n + 1)

        while let (now, event) = heap.pop(), now <= s.limit, doneAt.count < n {
            events += 1
            switch event {
            case .start(let i):
                ledger.started(i, at: now)
                var planner = SwarmPlanner(sizes: sizes, held: held[i], settings: s.fetch.swarm, seed: rng.next(), now: now)
                var out: [SwarmPlanner.Directive] = []
                for j in neighbourList[i] {
                    out += planner.addPeer(ids[j], sameZone: false, now: now)
                    if j == 0 { out += planner.peerHasAll(ids[0], now: now) } else { out += planner.peerHas(ids[j], bitfield: held[j], now: now) }
                }
                planners[i] = planner
                apply(i, out, now: now)
                heap.push(.tick(i), at: now + s.tickEvery)
                heap.push(.refresh(i), at: now + refreshInterval(i))
            case .refresh(let i):
                guard planners[i] != nil, !planners[i]!.isComplete else { continue }
                var holders = dialled[i].count { complete[$0] }
                guard holders < s.fetch.extraHolders else { continue }
                // As the node's refresh (``FetchPolicy``): while the download lacks a chunk none of its
                // peers offers, finished nodes, in a random order, are dialled beyond `maxPeers`;
                // one with `maxConnections` refuses (counted here as a dial not made).
                var fresh = planners[i]!.lacksSource ? finished.filter { !neighbours[i].contains($0) && neighbours[$0].count < s.maxConnections } : []
                fresh.shuffle(using: &rng)
                var out: [SwarmPlanner.Directive] = []
                for j in fresh where holders < s.fetch.extraHolders {
                    holders += 1
                    dialled[i].append(j)
                    neighbours[i].insert(j)
                    neighbours[j].insert(i)
                    neighbourList[i].append(j)
                    neighbourList[j].append(i)
                    out += planners[i]!.addPeer(ids[j], sameZone: false, now: now)
                    out += planners[i]!.peerHasAll(ids[j], now: now)
                }
                apply(i, out, now: now)
                if holders < s.fetch.extraHolders { heap.push(.refresh(i), at: now + refreshInterval(i)) }
            case .request(let from, let to, let chunk):
                if !held[to][chunk] || seeding[to].admit(chunk, to: ids[from], linkIdle: links[to].isIdle(now: now), now: now) == .refused {
                    send(.missing(to: from, from: to, chunk: chunk), at: now + s.latency)
                    continue
                }
                links[to].enqueue((from, chunk), bytes: Int(sizes[chunk]), from: queue(of: from), now: now)
                pump(to, now: now)
            case .chunk(let to, let from, let chunk):
                guard planners[to] != nil else { continue }
                if s.cpuPerChunk > 0 {
                    planners[to]!.arriving(chunk: chunk, from: ids[from])
                    // The receiver needs a core for the chunk's work: its own, or the earliest free of the shared ones.
                    let core = s.sharedCores > 0 ? cores.indices.min { cores[$0] < cores[$1] }! : to
                    let done = max(now, cores[core]) + s.cpuPerChunk
                    cores[core] = done
                    heap.push(.processed(to: to, from: from, chunk: chunk), at: done)
                    continue
                }
                store(to: to, from: from, chunk: chunk, now: now)
            case .processed(let to, let from, let chunk):
                store(to: to, from: from, chunk: chunk, now: now)
            case .missing(let to, let from, let chunk):
                guard planners[to] != nil else { continue }
                apply(to, planners[to]!.refused(chunk: chunk, by: ids[from], now: now), now: now)
                // The shell asks every peer for its have-set again every `requery`.
                heap.push(.has(to: to, from: from, chunk: chunk), at: now + s.fetch.requery)
            case .has(let to, let from, let chunk):
                guard planners[to] != nil, held[from][chunk] else { continue }
                apply(to, planners[to]!.peerHas(ids[from], chunk: chunk, now: now), now: now)
            case .cancel(let from, let to, let chunk):
                // Still waiting for its turn: it leaves the queue, as in the shell.
                let removed = links[to].remove(from: queue(of: from)) { $0 == (from, chunk) }
                if !removed.isEmpty { seeding[to].unsent(chunk, to: ids[from]) }
            case .pump(let u):
                guard pumpAt[u] <= now else { continue }
                pumpAt[u] = .max
                pump(u, now: now)
            case .flushHas(let i):
                let chunks = hasQueue[i]
                hasQueue[i].removeAll(keepingCapacity: true)
                hasPacing[i].sent(now: now)
                for j in neighbourList[i] where j != 0 { send(.hasBatch(to: j, from: i, chunks: chunks), at: now + s.latency) }
            case .hasBatch(let to, let from, let chunks):
                guard planners[to] != nil else { continue }
                for chunk in chunks {
                    apply(to, planners[to]!.peerHas(ids[from], chunk: chunk, now: now), now: now)
                }
            case .tick(let i):
                // As the shell's download does every 50 ms: time-outs, endgame and rate-limit wake-ups.
                guard planners[i] != nil, !planners[i]!.isComplete else { continue }
                if planners[i]!.nextDeadline <= now { apply(i, planners[i]!.tick(now: now), now: now) }
                heap.push(.tick(i), at: now + s.tickEvery)
            }
        }
        let sorted = doneAt.sorted()
        ledger.close(at: sorted.count == n ? sorted.last! : heap.now)
        func at(_ fraction: Double) -> Double? {
            let k = Int((fraction * Double(n)).rounded(.up))
            return k >= 1 && k <= sorted.count ? Double(sorted[k - 1]) / 1e9 : nil
        }
        let f = Double(s.bundleBytes), u = Double(s.uploadBytesPerSecond)
        let bound = max(f / u, Double(n) * f / (u + Double(n) * u))
        return Result(completed: sorted.count, reached50: at(0.5), reached99: at(0.99), reached100: at(1.0),
                      lowerBound: bound, seedCopies: Double(seedBytes) / f, events: events, ledger: ledger)
    }
}
