import Simulation
import Testing

@Suite struct SwarmSimulationTests {
    static func small(seed: UInt64) -> SwarmSimulation.Settings {
        var s = SwarmSimulation.Settings()
        s.nodes = 6
        s.bundleBytes = 4 << 20
        s.uploadBytesPerSecond = 8 << 20
        s.seed = seed
        return s
    }

    @Test func everyNodeCompletesNoFasterThanTheBound() throws {
        let r = SwarmSimulation.run(Self.small(seed: 3))
        #expect(r.completed == 6)
        let all = try #require(r.reached100)
        #expect(all >= r.lowerBound, "faster than physics allows: \(all) < \(r.lowerBound)")
        #expect(r.seedCopies >= 1, "every chunk leaves the seed at least once")
    }

    @Test func theSameSeedGivesTheSameRun() {
        let a = SwarmSimulation.run(Self.small(seed: 9))
        let b = SwarmSimulation.run(Self.small(seed: 9))
        #expect(a.reached100 == b.reached100 && a.events == b.events && a.seedCopies == b.seedCopies)
    }

    /// An upload rate of 0 (settings are public) is taken as 1 byte/s, as the upload queue
    /// takes it, instead of dividing by zero when the first chunk is booked.
    @Test func aZeroUploadRateDoesNotDivideByZero() {
        var s = Self.small(seed: 5)
        s.nodes = 1
        s.bundleBytes = 64 << 10
        s.uploadBytesPerSecond = 0
        s.limit = 10_000_000_000
        #expect(SwarmSimulation.run(s).completed == 0)
    }

    /// On links only the kernel caps the node does not know its rate and does not pace, but the
    /// seed still super-seeds, its link busy while what it wrote waits: about one copy, as
    /// under its own cap (without it, 1.2 or more here).
    @Test func onKernelCappedLinksTheSeedStillSendsAboutOneCopy() throws {
        var paced = Self.small(seed: 2)
        paced.nodes = 12
        var kernel = paced
        kernel.links = .kernel
        let p = SwarmSimulation.run(paced), k = SwarmSimulation.run(kernel)
        #expect(p.completed == 12 && k.completed == 12)
        #expect(p.seedCopies < 1.1, "super-seeding under a cap: about one copy")
        #expect(k.seedCopies < 1.1, "super-seeding on back-pressure: \(k.seedCopies) copies")
    }

    /// Every byte of capacity is accounted for: what was sent, plus what was idle, is what the
    /// uploaders could have sent until the last node finished.
    @Test func theLedgerAccountsForTheWholeRun() throws {
        // (Duplicates are capacity sent too; idle is what was not.)
        let r = SwarmSimulation.run(Self.small(seed: 6))
        let end = try #require(r.reached100)
        let sent = r.ledger.intervals.reduce(0.0) { $0 + Double($1.seedSent + $1.nodesSent) } / r.ledger.capacityPerSecond
        let lost = r.ledger.secondsLost
        let idle = lost.total - lost.duplicates
        #expect(abs(sent + idle - end) < 0.05 * end, "sent \(sent) s + idle \(idle) s of capacity vs \(end) s")
        #expect(r.ledger.seedCopyDone != nil)
    }

    @Test func lossOnlySlowsItDown() {
        var lossy = Self.small(seed: 4)
        lossy.loss = 0.02
        let r = SwarmSimulation.run(lossy)
        #expect(r.completed == 6, "time-outs re-ask what was lost")
    }
}
