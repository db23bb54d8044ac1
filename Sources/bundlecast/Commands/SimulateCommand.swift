import ArgumentParser
import Foundation
import Simulation

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the real gossip and swarm code over a simulated network, with faults if asked, deterministically.",
        subcommands: [Gossip.self, Swarm.self, Faults.self]
    )
}
