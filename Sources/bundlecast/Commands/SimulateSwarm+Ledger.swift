import Foundation
import Simulation

/// How `simulate swarm` prints where the upload capacity went (``SwarmUploadLedger``).
extension SimulateCommand.Swarm {
    /// One line: the seconds above the aggregate bound, by cause, and when the seed's copy was out.
    static func describe(_ ledger: SwarmUploadLedger, nodes: Int) -> String {
        let lost = ledger.secondsLost
        let copy = ledger.seedCopyDone.map { String(format: "%.2f s", $0) } ?? "never"
        return String(format: """
            upload capacity left unused, in seconds above the bound N·F/(u + N·u): %.2f s = not started %.2f, \
            holding nothing %.2f, holding chunks no one asked for %.2f, complete and idle %.2f, seed idle %.2f, \
            duplicates %.2f; the seed had sent every chunk once at %@
            """, lost.total, lost.notStarted, lost.empty, lost.holding, lost.complete, lost.seedIdle, lost.duplicates, copy)
    }

    /// Per interval: the share of each uploader group's capacity used, and of the nodes' idle.
    static func table(_ ledger: SwarmUploadLedger, nodes: Int) -> String {
        var lines = ["    t s | seed sent | nodes sent | idle: not started  empty  holding  complete | duplicates | complete nodes"]
        for i in ledger.intervals {
            let seedCapacity = ledger.capacityPerSecond / Double(nodes + 1) * i.length
            let nodesCapacity = seedCapacity * Double(nodes)
            func pct(_ v: Double, of c: Double) -> String { String(format: "%5.1f%%", 100 * v / c) }
            lines.append(String(format: "%7.2f | ", i.start) + pct(Double(i.seedSent), of: seedCapacity) + "    | "
                         + pct(Double(i.nodesSent), of: nodesCapacity) + "     |       " + pct(i.idleNotStarted, of: nodesCapacity)
                         + "     " + pct(i.idleEmpty, of: nodesCapacity) + "   " + pct(i.idleHolding, of: nodesCapacity)
                         + "    " + pct(i.idleComplete, of: nodesCapacity) + " |     " + pct(Double(i.duplicates), of: nodesCapacity)
                         + " | \(i.complete)")
        }
        return lines.joined(separator: "\n")
    }
}
