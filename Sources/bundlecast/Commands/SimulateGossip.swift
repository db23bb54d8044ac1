import ArgumentParser
import Foundation
import Simulation

extension SimulateCommand {
    struct Gossip: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How fast a notice spreads, what gossip costs, and false failure detections.",
            discussion: """
                Starts a converged fleet of --nodes running the real SWIM state machine and notice \
                rumours over a network with --latency and --loss, publishes a notice at one node \
                after 5 simulated seconds, and runs --seconds more. The same seed gives the same \
                output. The fleet starts converged from one shared member table (each node keeps its \
                own changes), so 10,000 nodes take seconds; runs stop at \(GossipSimulation.maxNodes) nodes.

                Example:
                  bundlecast simulate gossip --nodes 1000 --loss 0.01 --latency 1 --seed 7 --seconds 600
                  bundlecast simulate gossip --nodes 10000 --loss 0.01 --latency 1 --seed 7 --seconds 60
                """
        )

        @Option(help: "Number of nodes (2...\(GossipSimulation.maxNodes)).")
        var nodes = 1000

        @Option(help: "Probability that a message is lost (0...1).")
        var loss = 0.01

        @Option(help: "One-way latency in milliseconds.")
        var latency = 1.0

        @Option(help: "Seed of every random choice.")
        var seed: UInt64 = 1

        @Option(help: "Simulated seconds after the notice is published.")
        var seconds = 60.0

        func validate() throws {
            guard (2...GossipSimulation.maxNodes).contains(nodes) else {
                throw ValidationError("--nodes must be 2...\(GossipSimulation.maxNodes)")
            }
            guard (0...1).contains(loss) else { throw ValidationError("--loss must be between 0 and 1") }
            guard latency >= 0, latency <= 10_000 else { throw ValidationError("--latency must be 0...10000 ms") }
            guard seconds > 0, seconds <= 86_400 else { throw ValidationError("--seconds must be 0...86400") }
        }

        func run() throws {
            var settings = GossipSimulation.Settings()
            settings.nodes = nodes
            settings.loss = loss
            settings.latency = UInt64(latency * 1_000_000)
            settings.seed = seed
            settings.duration = UInt64(seconds * 1e9)
            let started = Date()
            let r = GossipSimulation.run(settings)
            func t(_ v: Double?) -> String { v.map { String(format: "%.2f s", $0) } ?? "not reached" }
            print("nodes \(r.nodes), loss \(loss), latency \(latency) ms, seed \(seed), \(seconds) simulated s")
            print("notice reached 50% in \(t(r.reached50)), 99% in \(t(r.reached99)), 100% in \(t(r.reached100))")
            print(String(format: "per node: %.1f messages/s, %.0f bytes/s", r.messagesPerNodePerSecond, r.bytesPerNodePerSecond))
            print("false failure detections: \(r.falseDeaths) dead, \(r.falseSuspicions) suspected (every node stayed up; \(r.falseDetectionsHeard) marks heard across the fleet)")
            print(String(format: "wall time %.1f s", Date().timeIntervalSince(started)))
        }
    }
}
