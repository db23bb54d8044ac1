import ArgumentParser
import Foundation
import Simulation

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the real gossip or swarm code over a simulated network, deterministically.",
        subcommands: [Gossip.self, Swarm.self, Faults.self]
    )

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

    struct Swarm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How long a release takes to reach a fleet from one seed, with the real chunk planner.",
            discussion: """
                Runs every node's real SwarmPlanner over a simulated network: one seed holding a \
                bundle of --bundle-mb, --nodes fetching it, every uploader capped at --upload-mbps \
                (MiB/s), with the node shell's rules (8 dialled peers plus the seed, `has` \
                announcements, super-seeding under a cap). Prints when 50%, 99% and 100% of the \
                nodes hold the bundle and the ratio to the lower bound \
                max(F/u, N·F/(u + N·u)). The same seed gives the same output. To compare with \
                a run of real nodes on one machine, give the CPU a chunk costs there and the \
                machine's cores (scripts/bench-swarm.sh prints both).

                Examples:
                  bundlecast simulate swarm --nodes 20 --bundle-mb 64 --upload-mbps 20 --latency 1 --seed 1
                  bundlecast simulate swarm --nodes 20 --bundle-mb 64 --upload-mbps 20 --seed 1 --shared-cores 2 --cpu-per-chunk-us 450
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

        @Option(help: "CPU each received 64 KiB chunk costs, in microseconds (all of a node's work for it); 0: free.")
        var cpuPerChunkUs = 0.0

        @Option(help: "Cores every node shares, as on one test machine (0: a core per node).")
        var sharedCores = 0

        func validate() throws {
            guard cpuPerChunkUs >= 0, cpuPerChunkUs <= 1_000_000 else { throw ValidationError("--cpu-per-chunk-us must be 0...1000000") }
            guard sharedCores >= 0 else { throw ValidationError("--shared-cores must not be negative") }
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
            settings.cpuPerChunk = UInt64(cpuPerChunkUs * 1000)
            settings.sharedCores = sharedCores
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

    struct Faults: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Gossip and swarm together under crashes, loss, partitions and malicious peers, for many seeds.",
            discussion: """
                Each seed runs --nodes honest nodes (node 0 is the publisher's seed) and --malicious \
                members over a simulated network: 1.0.0 and 1.1.0 are released, 1.1.0 is withdrawn, \
                1.2.0 is released, while nodes crash and restart (a crash every --crash-every seconds \
                on average), messages are lost, the fleet splits in two and heals, and the malicious \
                members gossip forged notices and replays and serve corrupt chunks. Every step checks \
                that no node accepts an unsigned notice or installs a corrupt or unnamed release, that \
                no accepted sequence goes down, and that going back happens only by the withdrawal; \
                faults stop at --faults-until and every honest node must run 1.2.0 within --converge. \
                A failing seed is printed with the command that replays it exactly; exit 1 then.

                Examples:
                  bundlecast simulate faults --seeds 200
                  bundlecast simulate faults --seed 17 --seeds 1 --nodes 30 --malicious 5
                """
        )

        @Option(help: "First seed.")
        var seed: UInt64 = 1

        @Option(help: "How many seeds, from --seed on.")
        var seeds = 20

        @Option(help: "Honest nodes, the publisher's seed included (2...500).")
        var nodes = 12

        @Option(help: "Malicious members (0...100).")
        var malicious = 2

        @Option(help: "Probability that a message is lost (0...0.5).")
        var loss = 0.01

        @Option(help: "Mean seconds between two crashes in the fleet.")
        var crashEvery = 3.0

        @Option(help: "Simulated second at which crashes and partitions stop.")
        var faultsUntil = 45.0

        @Option(help: "Simulated seconds the fleet has to converge after that.")
        var converge = 120.0

        func validate() throws {
            guard (2...500).contains(nodes) else { throw ValidationError("--nodes must be 2...500") }
            guard (0...100).contains(malicious) else { throw ValidationError("--malicious must be 0...100") }
            guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
            guard (0...0.5).contains(loss) else { throw ValidationError("--loss must be between 0 and 0.5") }
            guard crashEvery > 0 else { throw ValidationError("--crash-every must be positive") }
            guard faultsUntil >= 31 else { throw ValidationError("--faults-until must be at least 31 (the last release goes out at 30 s)") }
            guard converge > 0 else { throw ValidationError("--converge must be positive") }
        }

        func run() throws {
            let started = Date()
            var failed: [UInt64] = []
            var totals = FleetSimulation.Report(seed: 0)
            var slowest = 0.0
            for k in 0..<UInt64(seeds) {
                var settings = FleetSimulation.Settings()
                settings.seed = seed &+ k
                settings.nodes = nodes
                settings.malicious = malicious
                settings.loss = loss
                settings.meanTimeBetweenCrashes = UInt64(crashEvery * 1e9)
                settings.faultsUntil = UInt64(faultsUntil * 1e9)
                settings.convergeWithin = UInt64(converge * 1e9)
                let r = FleetSimulation.run(settings)
                totals.events += r.events
                totals.crashes += r.crashes
                totals.partitions += r.partitions
                totals.forgedRefused += r.forgedRefused
                totals.staleRefused += r.staleRefused
                totals.badChunks += r.badChunks
                totals.bans += r.bans
                totals.installs += r.installs
                slowest = max(slowest, r.convergedAfter ?? 0)
                if !r.violations.isEmpty {
                    failed.append(settings.seed)
                    print("seed \(settings.seed): \(r.violations.count) violation(s)")
                    for v in r.violations.prefix(5) { print("  \(v)") }
                    print("  replay: bundlecast simulate faults --seed \(settings.seed) --seeds 1 --nodes \(nodes) --malicious \(malicious) --loss \(loss) --crash-every \(crashEvery) --faults-until \(faultsUntil) --converge \(converge)")
                }
            }
            print("\(seeds) seeds, \(nodes) nodes + \(malicious) malicious, loss \(loss): \(totals.crashes) crashes and restarts, \(totals.partitions) partitions, \(totals.installs) installs")
            print("refused: \(totals.forgedRefused) forged notices, \(totals.staleRefused) stale replays; \(totals.badChunks) corrupt chunks caught, \(totals.bans) bans")
            print(String(format: "converged at most %.1f s after the faults stopped; %d events, wall time %.1f s", slowest, totals.events, Date().timeIntervalSince(started)))
            if failed.isEmpty {
                print("every invariant held on every seed")
            } else {
                print("FAILED seeds: \(failed.map(String.init).joined(separator: " "))")
                throw ExitCode(1)
            }
        }
    }
}
