import Gossip
import Simulation
import Testing

@Suite struct GossipSimulationTests {
    func settings(seed: UInt64) -> GossipSimulation.Settings {
        var s = GossipSimulation.Settings()
        s.nodes = 200
        s.loss = 0.01
        s.seed = seed
        s.duration = 30_000_000_000
        return s
    }

    @Test func aNoticeReachesEveryNodeWithoutFalseDeaths() {
        let report = GossipSimulation.run(settings(seed: 3))
        #expect(report.reached100 != nil)
        #expect(report.reached50! <= report.reached99! && report.reached99! <= report.reached100!)
        #expect(report.falseDeaths == 0)
        #expect(report.messagesPerNodePerSecond > 0 && report.bytesPerNodePerSecond > 0)
    }

    @Test func fiveThousandNodesShareOneTableAndStillSpreadFast() {
        // Past the old full-table limit of 2,000; a few simulated seconds keep it quick in debug builds.
        var s = settings(seed: 5)
        s.nodes = 5_000
        s.duration = 3_000_000_000
        let report = GossipSimulation.run(s)
        #expect(report.reached100 != nil && report.reached99! <= 3, "\(report)")
        #expect(report.falseDeaths == 0)
    }

    @Test func theSameSeedGivesTheSameReport() {
        #expect(GossipSimulation.run(settings(seed: 9)) == GossipSimulation.run(settings(seed: 9)))
    }

    @Test func withEveryMessageLostNothingSpreads() {
        var s = settings(seed: 4)
        s.loss = 1
        s.nodes = 20
        let report = GossipSimulation.run(s)
        #expect(report.reached50 == nil)
        #expect(report.falseDeaths > 0, "with total loss every member is eventually declared dead")
    }
}
