import Gossip
import Testing
@testable import Swarm

/// Whole downloads against simulated peers: the rules hold throughout, and
/// the same seed and events give the same directives.
struct SwarmScenarioTests {
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func rulesHoldThroughAWholeDownload(seed: UInt64) {
        var driver = SwarmDriver(plannerSeed: seed, scenarioSeed: seed &* 7919)
        driver.run()
        #expect(driver.planner.isComplete)
        #expect(driver.log.filter { $0.directive == .complete }.count == 1)
        #expect(driver.planner.isBanned(peer(3)))           // the liar
        #expect((driver.planner.misses(of: peer(4)) ?? 0) > 0)  // the silent one timed out
        #expect(!driver.planner.peers.contains(peer(6)))     // the leaver
        #expect(driver.planner.bytesInFlight == 0)
        #expect(driver.planner.heldBytes == driver.planner.totalBytes)
    }

    @Test func sameSeedSameDirectivesDifferentSeedDifferent() {
        var first = SwarmDriver(plannerSeed: 11)
        var again = SwarmDriver(plannerSeed: 11)
        var other = SwarmDriver(plannerSeed: 12)
        first.run()
        again.run()
        other.run()
        #expect(first.log.count > 60)
        #expect(first.log == again.log)
        #expect(first.log != other.log)
    }
}
