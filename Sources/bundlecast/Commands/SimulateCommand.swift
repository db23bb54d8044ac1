import ArgumentParser
import Foundation
import Simulation

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the real gossip or swarm code over a simulated network, deterministically.",
        subcommands: [Gossip.self, Swarm.self]
    )

    struct Gossip: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How fast a notice spreads, what gossip costs, and false failure detections.",
            discussion: """
                Starts a converged fleet of --nodes running the real SWIM state machine and notice \
                rumours over a network with --latency and --loss, publishes a notice at one node \
                after 5 simulated seconds, and runs --seconds more. The same seed gives the same \
                output. Every node keeps a full member table, so runs stop at \(GossipSimulation.maxNodes) nodes.

                Example:
                  bundlecast simulate gossip --nodes 1000 --loss 0.01 --latency 1 --seed 7 --seconds 600
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
                throw ValidationError("--nodes must be 2...\(GossipSimulation.maxNodes): every simulated node keeps a full member table (see README, Limits)")
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
            print("false failure detections: \(r.falseDeaths) dead, \(r.falseSuspicions) suspected (every node stayed up)")
            print(String(format: "wall time %.1f s", Date().timeIntervalSince(started)))
        }
    }

    struct Swarm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How long a release takes to reach a fleet from one seed, with the real chunk planner.",
            discussion: """
                Runs every node's real SwarmPlanner over a simulated network: one seed holding a \
                bundle of --bundle-mb, --nodes fetching it, every uploader capped at --upload-mbps \
                (MiB/s), with the node shell's rules (8 dialled peers plus the seed, `has` \
                announcements, super-seeding under a cap). Prints when 50%, 99% and 100% of the \
                nodes hold the bundle and the ratio to the lower bound \
                max(F/u, N·F/(u + N·u)). The same seed gives the same output.

                Example:
                  bundlecast simulate swarm --nodes 20 --bundle-mb 64 --upload-mbps 20 --latency 1 --seed 1
                """
        )

        @Option(help: "Number of nodes besides the seed.")
        var nodes = 20

        @Option(help: "Bundle size in MiB.")
        var bundleMb = 64

        @Option(help: "Upload cap of every node and of the seed, in MiB/s.")
        var uploadMbps = 20.0

        @Option(help: "One-way latency in milliseconds.")
        var latency = 1.0

        @Option(help: "Probability that a message is lost (0...1).")
        var loss = 0.0

        @Option(help: "Seed of every random choice.")
        var seed: UInt64 = 1

        func validate() throws {
            guard (1...20_000).contains(nodes) else { throw ValidationError("--nodes must be 1...20000") }
            guard (1...4096).contains(bundleMb) else { throw ValidationError("--bundle-mb must be 1...4096") }
            guard uploadMbps > 0 else { throw ValidationError("--upload-mbps must be positive") }
            guard (0...1).contains(loss) else { throw ValidationError("--loss must be between 0 and 1") }
            guard latency >= 0, latency <= 10_000 else { throw ValidationError("--latency must be 0...10000 ms") }
        }

        func run() throws {
            var settings = SwarmSimulation.Settings()
            settings.nodes = nodes
            settings.bundleBytes = UInt64(bundleMb) << 20
            settings.uploadBytesPerSecond = UInt64(uploadMbps * 1_048_576)
            settings.latency = UInt64(latency * 1_000_000)
            settings.loss = loss
            settings.seed = seed
            let started = Date()
            let r = SwarmSimulation.run(settings)
            func t(_ v: Double?) -> String { v.map { String(format: "%.2f s", $0) } ?? "not reached" }
            print("nodes \(nodes), bundle \(bundleMb) MiB, upload \(uploadMbps) MiB/s each, latency \(latency) ms, loss \(loss), seed \(seed)")
            print("complete on 50% in \(t(r.reached50)), 99% in \(t(r.reached99)), 100% in \(t(r.reached100)) (\(r.completed) of \(nodes))")
            print(String(format: "lower bound %.2f s; 100%% / bound = %@; the seed uploaded %.2f copies", r.lowerBound,
                         r.reached100.map { String(format: "%.2f", $0 / r.lowerBound) } ?? "-", r.seedCopies))
            print(String(format: "%d events, wall time %.1f s", r.events, Date().timeIntervalSince(started)))
        }
    }
}
