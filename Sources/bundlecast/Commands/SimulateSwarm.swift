import ArgumentParser
import Foundation
import Simulation

extension SimulateCommand {
    struct Swarm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How long a release takes to reach a fleet from one seed, with the real chunk planner.",
            discussion: """
                Runs every node's real SwarmPlanner over a simulated network: one seed holding a \
                bundle of --bundle-mb, --nodes fetching it, every uploader capped at --upload-mbps \
                (MiB/s), with the node shell's rules (8 dialled peers plus the seed, `has` \
                announcements, super-seeding by the seed). Prints when 50%, 99% and 100% of the \
                nodes hold the bundle and the ratio to the lower bound \
                max(F/u, N·F/(u + N·u)). The same seed gives the same output. To compare with \
                a run of real nodes on one machine, give the CPU a chunk costs there and the \
                machine's cores (scripts/bench-swarm.sh prints both). Downloads are not capped;                 the network adds --latency and nothing else. It prints too where the upload                 capacity went (--ledger: per 100 ms): each second above the bound N·F/(u + N·u)                 is (N + 1)·u bytes of capacity left idle, sorted by why.

                Examples:
                  bundlecast simulate swarm --nodes 20 --bundle-mb 64 --upload-mbps 20 --latency 1 --seed 1
                  bundlecast simulate swarm --nodes 20 --bundle-mb 64 --upload-mbps 20 --seed 1 --shared-cores 2 --cpu-per-chunk-us 450
                  bundlecast simulate swarm --nodes 20 --links kernel --shared-cores 2 --cpu-per-chunk-us 650
                  bundlecast simulate swarm --nodes 10000 --ledger
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

        @Option(help: "What caps each upload: paced (the node's own --max-upload-rate: turns, super-seeding, as on loopback) or kernel (tbf alone, as LINKS=netns of bench-swarm.sh: no pacing, the seed super-seeds on back-pressure, 1448 of 1514 bytes per frame are chunk bytes).")
        var links: SwarmSimulation.Links = .paced

        @Flag(help: "Print, per 100 ms, how much of the seed's and the nodes' upload capacity was used, and why the rest was idle.")
        var ledger = false

        @Flag(help: "Serve upload requests in arrival order, as nodes started with the benchmark-only flag do (default: in turns per requester).")
        var uploadsInArrivalOrder = false

        /// Nodes × 64 KiB chunks at most (10,000 nodes of 256 MiB).
        static let maxNodeChunks = 10_000 * 4096

        func validate() throws {
            guard cpuPerChunkUs >= 0, cpuPerChunkUs <= 1_000_000 else { throw ValidationError("--cpu-per-chunk-us must be 0...1000000") }
            guard (0...4096).contains(sharedCores) else { throw ValidationError("--shared-cores must be 0...4096") }
            guard (1...20_000).contains(nodes) else { throw ValidationError("--nodes must be 1...20000") }
            guard (1...4096).contains(bundleMb) else { throw ValidationError("--bundle-mb must be 1...4096") }
            // Every node keeps a planner with a slot per chunk (64 KiB each): memory grows with
            // nodes × chunks. 10,000 nodes of a 64 MiB bundle take about 1.2 GiB.
            guard nodes * (bundleMb * 16) <= Self.maxNodeChunks else {
                throw ValidationError("--nodes × --bundle-mb must be at most \(Self.maxNodeChunks / 16) (\(nodes) × \(bundleMb) would need more memory than a machine has): fewer nodes, or a smaller bundle")
            }
            // Bounded so that the rate in bytes per second is a whole number from 1 KiB/s to 1 TiB/s
            // (a larger or infinite value traps in UInt64(_:), a tiny one rounds to 0).
            guard uploadMbps >= 1.0 / 1024, uploadMbps <= 1_048_576 else { throw ValidationError("--upload-mbps must be 0.001...1048576") }
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
            settings.uploadsInTurns = !uploadsInArrivalOrder
            settings.links = links
            let started = Date()
            let r = SwarmSimulation.run(settings)
            func t(_ v: Double?) -> String { v.map { String(format: "%.2f s", $0) } ?? "not reached" }
            print("nodes \(nodes), bundle \(bundleMb) MiB, upload \(uploadMbps) MiB/s each (\(links.rawValue)), latency \(latency) ms, loss \(loss), seed \(seed)")
            print("complete on 50% in \(t(r.reached50)), 99% in \(t(r.reached99)), 100% in \(t(r.reached100)) (\(r.completed) of \(nodes))")
            print(String(format: "lower bound %.2f s; 100%% / bound = %@; the seed uploaded %.2f copies", r.lowerBound,
                         r.reached100.map { String(format: "%.2f", $0 / r.lowerBound) } ?? "-", r.seedCopies))
            print(Self.describe(r.ledger, nodes: nodes))
            if ledger { print(Self.table(r.ledger, nodes: nodes)) }
            print(String(format: "%d events, wall time %.1f s", r.events, Date().timeIntervalSince(started)))
        }
    }
}

extension SwarmSimulation.Links: ExpressibleByArgument {}
