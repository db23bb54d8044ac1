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

    @Test func lossOnlySlowsItDown() {
        var lossy = Self.small(seed: 4)
        lossy.loss = 0.02
        let r = SwarmSimulation.run(lossy)
        #expect(r.completed == 6, "time-outs re-ask what was lost")
    }
}
