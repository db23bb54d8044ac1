import Simulation
import Testing

/// Gossip and swarm together under crashes, loss, partitions and malicious members.
@Suite struct FleetSimulationTests {
    @Test func everyInvariantHoldsAndTheFleetConvergesOnSeveralSeeds() {
        var faults = FleetSimulation.Report(seed: 0)
        for seed in 1...4 as ClosedRange<UInt64> {
            var s = FleetSimulation.Settings()
            s.seed = seed
            let r = FleetSimulation.run(s)
            #expect(r.violations.isEmpty, "seed \(seed): \(r.violations)")
            #expect(r.convergedAfter != nil)
            faults.crashes += r.crashes
            faults.partitions += r.partitions
            faults.forgedRefused += r.forgedRefused
            faults.staleRefused += r.staleRefused
            faults.badChunks += r.badChunks
        }
        #expect(faults.crashes > 20 && faults.partitions > 0 && faults.forgedRefused > 0 && faults.staleRefused > 0 && faults.badChunks > 0,
                "the faults and attacks happened: \(faults)")
    }

    @Test func theSameSeedGivesTheSameRun() {
        var s = FleetSimulation.Settings()
        s.seed = 11
        #expect(FleetSimulation.run(s) == FleetSimulation.run(s))
    }

    @Test(arguments: FleetSimulation.Sabotage.allCases) func aBrokenRuleIsCaught(_ sabotage: FleetSimulation.Sabotage) {
        // Each rule broken on purpose must show as the violation that names it, on some seed among a few.
        let expected = switch sabotage {
        case .acceptUnsigned: "accepted a notice the publisher never signed"
        case .storeUnverified: "missing or corrupt"
        case .forgetSequence: "accepted sequence"
        }
        var caught = false
        for seed in 1...5 as ClosedRange<UInt64> where !caught {
            var s = FleetSimulation.Settings()
            s.seed = seed
            s.sabotage = sabotage
            caught = FleetSimulation.run(s).violations.contains { $0.contains(expected) }
        }
        #expect(caught, "\(sabotage) went unnoticed")
    }

    @Test func aRunIsTheSameInEveryProcess() {
        // Golden figures: a run that iterated a Dictionary or Set in an order that matters would differ
        // between processes (the hash seed is per process). Update them when the simulation changes on purpose.
        var s = FleetSimulation.Settings()
        s.seed = 11
        let r = FleetSimulation.run(s)
        #expect([r.events, r.crashes, r.partitions, r.installs, r.badChunks] == FleetSimulationTests.golden, "\([r.events, r.crashes, r.partitions, r.installs, r.badChunks])")
    }

    static let golden = [17137, 11, 3, 44, 55]

    @Test func notConvergingInTimeIsAViolation() {
        var s = FleetSimulation.Settings()
        s.convergeWithin = 1_000_000
        s.faultsUntil = 5_000_000_000  // before the last release is out
        #expect(FleetSimulation.run(s).violations.contains { $0.hasPrefix("not converged") })
    }
}
