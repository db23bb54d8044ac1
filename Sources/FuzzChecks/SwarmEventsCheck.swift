import Gossip
import Swarm

/// ``FuzzCheck/swarmEvents``: the fuzzer's bytes become one download's ``SwarmPlanner`` (chunk
/// count and sizes, what is held at start, settings) and a run of transfer events: peers
/// coming and going, have-sets and single announcements, round trips, chunks arriving valid or
/// bad (mostly ones that were requested), refusals, chunks stored another way, the passing of
/// time. The harness keeps its own record of what each peer offered and what was asked of it.
///
/// Properties, checked after every event (a run is at most ``maxSteps`` events):
/// - nothing traps;
/// - a request goes only to a connected, not banned peer that offered the chunk, for a chunk
///   not held, not already asked of that peer; a duplicate only in endgame, and at most
///   `endgameDuplicates` copies; a cancel only for a request made;
/// - the in-flight bookkeeping is the record's: what the planner has in flight to a peer was
///   asked of it, and a request leaves only by an answer, a cancel, the peer leaving or being
///   banned, or its time-out; `bytesInFlight` is their sum, within the byte cap (or one chunk),
///   each peer within its largest window; requests keep to the download rate;
/// - a ban only at `strikesToBan` bad chunks it was asked for; `complete` exactly once, when every chunk is held;
/// - after `tick(now:)`, `nextDeadline` is after `now`;
/// - at the end, with every request answered and time moved to each deadline: a download
///   whose missing chunks are all offered by a connected peer finishes.
enum SwarmEventsCheck {
    static let maxSteps = 256
    static let pool: [NodeID] = (1...6).map { NodeID(high: 7, low: UInt64($0)) }
    static let start: UInt64 = 5_000_000_000
    static let advances: [UInt64] = [0, 1_000_000, 10_000_000, 100_000_000, 300_000_000, 500_000_000, 1_000_000_000, 20_000_000_000]

    static func run(_ bytes: [UInt8]) -> FuzzCheck.Outcome {
        var input = FuzzInput(bytes)
        let count = input.below(150)
        var rng = SplitMix64(seed: UInt64(input.u16()))
        let largest = input.pick([UInt64(1), 100, 20_000, 262_144])
        let sizes = (0..<count).map { _ in UInt32(1 + rng.next() % largest) }
        let heldShare = UInt64(input.byte() % 5) * 25
        let held = (0..<count).map { _ in rng.next() % 100 < heldShare }
        let settings = self.settings(&input)
        var run = Run(planner: SwarmPlanner(sizes: sizes, held: held, settings: settings, seed: UInt64(input.u16()), now: start),
                      sizes: sizes, held: held, settings: settings)
        var steps = 0
        while !input.isEmpty, steps < maxSteps {
            steps += 1
            if let failure = run.event(&input) { return FuzzCheck.Outcome(decoded: true, failure: "event \(steps): \(failure)") }
        }
        if let failure = run.drain() { return FuzzCheck.Outcome(decoded: true, failure: "at the end: \(failure)") }
        return FuzzCheck.Outcome(decoded: steps > 0)
    }

    static func settings(_ input: inout FuzzInput) -> SwarmSettings {
        var s = SwarmSettings()
        let a = input.byte(), b = input.byte(), c = input.byte()
        s.initialWindow = [0, 1, 4, 100][Int(a & 3)]
        s.minWindow = [0, 1, 2, 8][Int(a >> 2 & 3)]
        s.maxWindow = [0, 1, 8, 64][Int(a >> 4 & 3)]
        s.endgameMoves = a & 0x40 == 0
        s.downloadBytesPerSecond = a & 0x80 != 0 ? [100_000, 10_000_000][Int(c & 1)] : nil
        s.maxBytesInFlight = [1, 20_000, 300_000, 4 << 20][Int(b & 3)]
        s.randomFirst = [0, 1, 4, 1000][Int(b >> 2 & 3)]
        s.strikesToBan = [0, 1, 3, 3][Int(b >> 4 & 3)]
        s.endgameDuplicates = [0, 1, 2, 3][Int(b >> 6 & 3)]
        s.endgameAfter = c & 2 != 0 ? 0 : 500_000_000
        s.endgameBudget = [0, 0.125, 1, 10][Int(c >> 2 & 3)]
        s.requestTimeout = [1_000_000, 300_000_000, 15_000_000_000, 15_000_000_000][Int(c >> 4 & 3)]
        return s
    }

    /// The planner and the harness's record of what it was told and what it asked.
    struct Run {
        var planner: SwarmPlanner
        let sizes: [UInt32]
        let settings: SwarmSettings
        var now = SwarmEventsCheck.start
        var held: [Bool]
        /// Per pool peer: what it offered, if connected.
        var offers: [[Bool]?]
        /// Per pool peer: chunk -> when it was asked for it.
        var asked: [[Int: UInt64]]
        var strikes: [Int]
        var banned: [Bool]
        var completes = 0
        var requestedBytes: UInt64 = 0

        init(planner: SwarmPlanner, sizes: [UInt32], held: [Bool], settings: SwarmSettings) {
            self.planner = planner
            self.sizes = sizes
            self.held = held
            self.settings = settings
            let n = SwarmEventsCheck.pool.count
            offers = Array(repeating: nil, count: n)
            asked = Array(repeating: [:], count: n)
            strikes = Array(repeating: 0, count: n)
            banned = Array(repeating: false, count: n)
        }

        var count: Int { sizes.count }

        func chunk(_ input: inout FuzzInput) -> Int {
            let b = input.byte()
            if b == 0xFF { return -1 }
            return Int(b) % (count + 3)
        }

        mutating func event(_ input: inout FuzzInput) -> String? {
            let op = input.byte()
            let p = input.below(SwarmEventsCheck.pool.count)
            let peer = SwarmEventsCheck.pool[p]
            var out: [SwarmPlanner.Directive] = []
            var stepped = true
            var ticked = false
            switch op % 14 {
            case 0:
                if !banned[p], offers[p] == nil { offers[p] = Array(repeating: false, count: count) }
                out = planner.addPeer(peer, sameZone: op & 0x80 != 0, now: now)
            case 1:
                offers[p] = nil
                asked[p] = [:]
                out = planner.removePeer(peer, now: now)
            case 2:
                if offers[p] != nil { offers[p] = Array(repeating: true, count: count) }
                out = planner.peerHasAll(peer, now: now)
            case 3:
                let length = max(0, count + Int(input.byte() % 5) - 2)
                let packed = input.bytes((length + 7) / 8)
                let bits = (0..<length).map { $0 / 8 < packed.count && packed[$0 / 8] & (1 << ($0 % 8)) != 0 }
                if offers[p] != nil { offers[p] = (0..<count).map { $0 < bits.count && bits[$0] } }
                out = planner.peerHas(peer, bitfield: bits, now: now)
            case 4:
                let c = chunk(&input)
                if offers[p] != nil, c >= 0, c < count { offers[p]![c] = true }
                out = planner.peerHas(peer, chunk: c, now: now)
                stepped = false
            case 5:
                planner.peerRTT(peer, nanoseconds: input.pick([0, 1_000_000, 50_000_000, UInt64(input.u32())]))
                stepped = false
            case 6:
                planner.arriving(chunk: chunk(&input), from: peer)
                stepped = false
            case 7, 8, 9:
                // Mostly a chunk that was asked for.
                let inFlight = planner.inFlight(to: peer)
                let pickRequested = input.byte()
                let c = pickRequested & 0x80 == 0 && !inFlight.isEmpty ? inFlight[Int(pickRequested) % inFlight.count] : chunk(&input)
                let valid = op % 14 != 9
                if c >= 0, c < count {
                    // Only bad bytes the peer was asked for are a strike (anyone can send the rest).
                    let wasAsked = asked[p][c] != nil
                    asked[p][c] = nil
                    if valid {
                        held[c] = true
                    } else if !banned[p], wasAsked {
                        strikes[p] += 1
                    }
                }
                out = planner.received(chunk: c, from: peer, valid: valid, now: now)
            case 10:
                let c = chunk(&input)
                if c >= 0, c < count { held[c] = true }
                out = planner.storedElsewhere(chunk: c, now: now)
            case 11:
                let c = chunk(&input)
                if c >= 0, c < count, offers[p] != nil {
                    asked[p][c] = nil
                    offers[p]![c] = false
                }
                // A refusal re-plans only when it refuses a request in flight (time-outs the
                // planner took silently included): not a step to hold the planner to.
                out = planner.refused(chunk: c, by: peer, now: now)
                stepped = false
            case 12:
                let step = input.below(SwarmEventsCheck.advances.count + 1)
                now += step < SwarmEventsCheck.advances.count ? SwarmEventsCheck.advances[step] : UInt64(input.u32())
                out = planner.tick(now: now)
                ticked = true
            default:
                let deadline = planner.nextDeadline
                if deadline != .max { now = max(now, min(deadline, now + 100_000_000_000)) }
                out = planner.tick(now: now)
                ticked = true
            }
            return check(out, stepped: stepped, ticked: ticked)
        }

        /// Answers every request and moves time to each deadline until the download finishes or
        /// nothing is left to do; a download whose missing chunks are all offered must finish.
        mutating func drain() -> String? {
            let offered = (0..<count).allSatisfy { c in
                held[c] || SwarmEventsCheck.pool.indices.contains { !banned[$0] && offers[$0]?[c] == true }
            }
            for _ in 0..<(4 * count + 64) where !planner.isComplete {
                var answered = false
                for (p, peer) in SwarmEventsCheck.pool.enumerated() {
                    for c in planner.inFlight(to: peer) {
                        answered = true
                        asked[p][c] = nil
                        held[c] = true
                        if let failure = check(planner.received(chunk: c, from: peer, valid: true, now: now), stepped: true, ticked: false) {
                            return failure
                        }
                    }
                }
                if answered { continue }
                let deadline = planner.nextDeadline
                if deadline == .max { break }
                now = max(now, deadline)
                if let failure = check(planner.tick(now: now), stepped: true, ticked: true) { return failure }
            }
            if offered, !planner.isComplete {
                return "every missing chunk is offered by a connected peer and every request was answered, but \(planner.missing.count) of \(count) chunks are missing and nothing is asked (next deadline \(planner.nextDeadline))"
            }
            return nil
        }

        /// Expired requests the planner dropped on its own (it does so only past the time-out).
        func expired(_ issued: UInt64) -> Bool {
            let (due, overflow) = issued.addingReportingOverflow(settings.requestTimeout)
            return !overflow && due <= now
        }

        mutating func check(_ out: [SwarmPlanner.Directive], stepped: Bool, ticked: Bool) -> String? {
            let pool = SwarmEventsCheck.pool
            let cap = max(1, settings.endgameDuplicates)
            for directive in out {
                switch directive {
                case .request(let peer, let c):
                    guard let p = pool.firstIndex(of: peer) else { return "asked an unknown peer \(peer.short)" }
                    guard c >= 0, c < count else { return "asked for chunk \(c) of \(count)" }
                    guard !banned[p], let offer = offers[p] else { return "asked \(peer.short), which is not connected or banned, for chunk \(c)" }
                    guard offer[c] else { return "asked \(peer.short) for chunk \(c), which it did not offer" }
                    guard !held[c] else { return "asked for chunk \(c), which is held" }
                    if let issued = asked[p][c], !expired(issued) { return "asked \(peer.short) for chunk \(c) twice" }
                    let copies = pool.indices.filter { asked[$0][c].map { !expired($0) } ?? false }.count
                    if copies > 0 {
                        if copies + 1 > cap { return "chunk \(c) asked of \(copies + 1) peers, over \(cap)" }
                        let endgame = (0..<count).allSatisfy { x in held[x] || pool.indices.contains { asked[$0][x].map { !expired($0) } ?? false } }
                        if !endgame { return "duplicate request for chunk \(c) outside endgame" }
                    }
                    asked[p][c] = now
                    requestedBytes += UInt64(sizes[c])
                    if let rate = settings.downloadBytesPerSecond {
                        let burst = UInt64(sizes.max() ?? 0)
                        let allowance = burst + UInt64((Double(rate) * Double(now - SwarmEventsCheck.start) / 1e9).rounded(.up))
                        if requestedBytes > allowance { return "requested \(requestedBytes) bytes, over the rate's \(allowance)" }
                    }
                case .cancel(let peer, let c):
                    guard let p = pool.firstIndex(of: peer), c >= 0, c < count, asked[p][c] != nil else {
                        return "cancelled chunk \(c) at \(peer.short), which was not asked"
                    }
                    asked[p][c] = nil
                case .ban(let peer):
                    guard let p = pool.firstIndex(of: peer) else { return "banned an unknown peer" }
                    if banned[p] { return "banned \(peer.short) twice" }
                    if strikes[p] < max(1, settings.strikesToBan) { return "banned \(peer.short) after \(strikes[p]) bad chunks" }
                    banned[p] = true
                    offers[p] = nil
                    asked[p] = [:]
                case .complete:
                    completes += 1
                    if completes > 1 { return "complete twice" }
                    if !held.allSatisfy({ $0 }) { return "complete with \(held.filter { !$0 }.count) chunks missing" }
                }
            }
            for p in pool.indices where !banned[p] && strikes[p] >= max(1, settings.strikesToBan) {
                return "\(pool[p].short) sent \(strikes[p]) bad chunks and is not banned"
            }
            if planner.heldCount != held.filter({ $0 }).count { return "holds \(planner.heldCount) chunks, the record says \(held.filter { $0 }.count)" }
            if stepped, held.allSatisfy({ $0 }), completes != 1 { return "every chunk held but no complete" }
            let connected = pool.indices.filter { offers[$0] != nil && !banned[$0] }.map { pool[$0] }
            if planner.peers != connected { return "peers \(planner.peers.map(\.short)), the record says \(connected.map(\.short))" }
            var bytes: UInt64 = 0
            var copies = Array(repeating: 0, count: count)
            for (p, peer) in pool.enumerated() {
                let inFlight = planner.inFlight(to: peer)
                if inFlight.count > max(max(1, settings.minWindow), settings.maxWindow) {
                    return "\(inFlight.count) requests in flight to \(peer.short), over the largest window"
                }
                for c in inFlight {
                    guard asked[p][c] != nil else { return "chunk \(c) in flight to \(peer.short), which was never asked for it" }
                    bytes += UInt64(sizes[c])
                    copies[c] += 1
                }
                for c in asked[p].keys.sorted() where !inFlight.contains(c) {
                    guard expired(asked[p][c]!) else { return "the request for chunk \(c) to \(peer.short) vanished before its time-out" }
                    asked[p][c] = nil
                }
            }
            if planner.bytesInFlight != bytes { return "bytesInFlight \(planner.bytesInFlight), the requests add up to \(bytes)" }
            if bytes > max(settings.maxBytesInFlight, UInt64(sizes.max() ?? 0)) { return "\(bytes) bytes in flight, over the cap \(settings.maxBytesInFlight)" }
            if let c = copies.indices.first(where: { copies[$0] > cap }) { return "chunk \(c) in flight to \(copies[c]) peers" }
            let deadline = planner.nextDeadline
            if ticked, deadline <= now { return "after tick(\(now)) the next deadline is \(deadline): a shell would spin" }
            return nil
        }
    }
}
