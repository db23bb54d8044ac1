import Node

/// The text `bundlecast status` prints: the version spread per app, then the members.
struct StatusReport {
    let text: String

    init(_ status: NodeStatus) {
        let everyone = [status.me] + status.members
        let live = everyone.filter { $0.status == "alive" || $0.status == "suspect" }
        var lines = ["fleet seen from \(status.me.id.prefix(8)) (\(status.me.address)): \(live.count) live of \(everyone.count) known, channel \(status.channel)"]
        let apps = Set(everyone.flatMap(\.apps.keys)).sorted()
        for app in apps {
            var counts: [String: (sequence: UInt64, nodes: Int)] = [:]
            var without = 0
            for member in live {
                if let state = member.apps[app] {
                    counts[state.version, default: (state.sequence, 0)].nodes += 1
                } else {
                    without += 1
                }
            }
            let spread = counts.sorted { $0.value.sequence > $1.value.sequence }
                .map { "\($0.key) (#\($0.value.sequence)): \($0.value.nodes)" }
            lines.append("  \(app): " + (spread + (without > 0 ? ["none yet: \(without)"] : [])).joined(separator: ", "))
        }
        if apps.isEmpty { lines.append("  no notice accepted by any live member yet") }
        lines.append("")
        lines.append("  id        address                 status   zone      apps")
        for m in everyone {
            let apps = m.apps.keys.sorted().map { "\($0) \(m.apps[$0]!.version)" }.joined(separator: ", ")
            lines.append("  \(m.id.prefix(8))  \(m.address.padding(23))  \(m.status.padding(7))  \((m.zone ?? "-").padding(8))  \(apps)")
        }
        text = lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
