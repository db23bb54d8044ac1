/// Where a swarm run's upload capacity went: what every uploader sent, interval by interval,
/// and, for the capacity left idle, why.
///
/// A run of N nodes and a seed, each uploading at most `u`, that ends at `T` had
/// `(N + 1)·u·T` bytes of upload capacity. N·F of them had to be sent (the aggregate lower
/// bound N·F / (u + N·u)); every other byte of capacity was idle or a duplicate, and each
/// `(N + 1)·u` of those is one second above that bound. The ledger sorts the idle capacity
/// by the uploader's state when it was idle: not started yet (gossip had not reached it),
/// holding no chunk yet, or holding chunks that no neighbour asked for — exactly, not
/// sampled, from the times each node started, first stored a chunk and finished.
public struct SwarmUploadLedger: Sendable {
    /// One interval of the run; byte counts are upload capacity spent or left idle in it.
    public struct Interval: Sendable, Equatable {
        /// Seconds since the release was announced.
        public var start: Double
        /// Seconds the interval lasted (the last one ends with the run).
        public var length: Double = 0
        /// Bytes the seed's link sent.
        public var seedSent: UInt64 = 0
        /// Bytes the nodes' links sent, and of those the links of nodes that held the whole bundle.
        public var nodesSent: UInt64 = 0
        public var completeSent: UInt64 = 0
        /// Bytes that reached a node already holding the chunk (an endgame race).
        public var duplicates: UInt64 = 0
        /// Idle capacity of nodes whose download had not started.
        public var idleNotStarted: Double = 0
        /// Idle capacity of started nodes that held no chunk yet.
        public var idleEmpty: Double = 0
        /// Idle capacity of nodes holding some chunks (no neighbour asked for one they hold).
        public var idleHolding: Double = 0
        /// Idle capacity of nodes holding the whole bundle (their neighbours lacked nothing,
        /// or asked others).
        public var idleComplete: Double = 0
        /// Idle capacity of the seed.
        public var seedIdle: Double = 0
        /// Nodes holding the whole bundle at the interval's end.
        public var complete = 0
    }

    /// Nanoseconds per interval.
    public let width: UInt64
    public private(set) var intervals: [Interval] = []
    /// When the seed had sent every chunk at least once (seconds), if it had.
    public internal(set) var seedCopyDone: Double?
    /// Capacity of all uploaders in bytes per second: the seed's and every node's.
    public let capacityPerSecond: Double

    let nodes: Int
    let bytesPerSecond: UInt64
    var started: [UInt64]
    var firstChunk: [UInt64]
    var finished: [UInt64]

    init(nodes: Int, bytesPerSecond: UInt64, width: UInt64) {
        self.nodes = nodes
        self.bytesPerSecond = bytesPerSecond
        self.width = max(1, width)
        capacityPerSecond = Double(bytesPerSecond) * Double(nodes + 1)
        started = Array(repeating: .max, count: nodes + 1)
        firstChunk = Array(repeating: .max, count: nodes + 1)
        finished = Array(repeating: .max, count: nodes + 1)
    }

    private mutating func interval(at time: UInt64) -> Int {
        let k = Int(time / width)
        while intervals.count <= k { intervals.append(Interval(start: Double(UInt64(intervals.count) * width) / 1e9)) }
        return k
    }

    /// An uploader's link sent `bytes` starting at `time` (booked: the interval it started in).
    mutating func sent(_ bytes: UInt32, by uploader: Int, at time: UInt64) {
        let k = interval(at: time)
        if uploader == 0 {
            intervals[k].seedSent += UInt64(bytes)
        } else {
            intervals[k].nodesSent += UInt64(bytes)
            if finished[uploader] <= time { intervals[k].completeSent += UInt64(bytes) }
        }
    }

    mutating func duplicate(_ bytes: UInt32, at time: UInt64) {
        intervals[interval(at: time)].duplicates += UInt64(bytes)
    }

    mutating func started(_ node: Int, at time: UInt64) { started[node] = time }
    mutating func stored(_ node: Int, at time: UInt64) { firstChunk[node] = min(firstChunk[node], time) }
    mutating func finished(_ node: Int, at time: UInt64) { finished[node] = time }

    /// Splits the idle capacity of every interval up to `end` by the uploaders' states.
    mutating func close(at end: UInt64) {
        guard end > 0 else { return }
        let last = interval(at: end - 1)
        intervals.removeLast(intervals.count - last - 1)
        let u = Double(bytesPerSecond) / 1e9
        func overlap(_ a: UInt64, _ b: UInt64, _ k: Int) -> Double {
            let lo = max(a, UInt64(k) * width), hi = min(b, min(UInt64(k + 1) * width, end))
            return hi > lo ? Double(hi - lo) : 0
        }
        for k in intervals.indices {
            let length = Double(min(UInt64(k + 1) * width, end) - UInt64(k) * width)
            intervals[k].length = length / 1e9
            var notStarted = 0.0, empty = 0.0, complete = 0.0
            for i in stride(from: 1, through: nodes, by: 1) {
                notStarted += overlap(0, started[i], k)
                empty += overlap(started[i], firstChunk[i], k)
                complete += overlap(finished[i], .max, k)
            }
            intervals[k].idleNotStarted = notStarted * u
            intervals[k].idleEmpty = empty * u
            let sent = intervals[k].nodesSent, completeSent = intervals[k].completeSent
            let holding = Double(nodes) * length - notStarted - empty - complete
            intervals[k].idleHolding = max(0, holding * u - Double(sent - completeSent))
            intervals[k].idleComplete = max(0, complete * u - Double(completeSent))
            intervals[k].seedIdle = max(0, length * u - Double(intervals[k].seedSent))
            intervals[k].complete = finished.dropFirst().count { $0 < UInt64(k + 1) * width }
        }
    }

    /// Seconds above the aggregate bound that each kind of unused capacity accounts for:
    /// its bytes over the capacity of all uploaders.
    public var secondsLost: Lost {
        let c = capacityPerSecond
        func sum(_ field: (Interval) -> Double) -> Double { intervals.reduce(0) { $0 + field($1) } / c }
        return Lost(notStarted: sum(\.idleNotStarted), empty: sum(\.idleEmpty), holding: sum(\.idleHolding),
                    complete: sum(\.idleComplete), seedIdle: sum(\.seedIdle), duplicates: sum { Double($0.duplicates) })
    }

    /// Seconds above the aggregate bound, by cause (see ``secondsLost``).
    public struct Lost: Sendable, Equatable {
        public var notStarted: Double
        public var empty: Double
        public var holding: Double
        public var complete: Double
        public var seedIdle: Double
        public var duplicates: Double
        public var total: Double { notStarted + empty + holding + complete + seedIdle + duplicates }
    }
}
