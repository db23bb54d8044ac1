import ArgumentParser
import Foundation
import Simulation

extension SimulateCommand {
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
            // Seconds become UInt64 nanoseconds: bounded to a day (a larger or infinite value traps
            // in UInt64(_:)), and crashes at least a millisecond apart (0 ns would never advance time).
            guard crashEvery >= 0.001, crashEvery <= 86_400 else { throw ValidationError("--crash-every must be 0.001...86400 seconds") }
            guard faultsUntil >= 31, faultsUntil <= 86_400 else {
                throw ValidationError("--faults-until must be 31...86400 (the last release goes out at 30 s)")
            }
            guard converge > 0, converge <= 86_400 else { throw ValidationError("--converge must be 0...86400 seconds") }
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
