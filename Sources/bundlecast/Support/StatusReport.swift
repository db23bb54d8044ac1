import BundlecastCore
import Foundation
import Node

/// The text `bundlecast status` prints: per app the version spread over live
/// members, with a bar; then, on request, the members.
///
/// Every string in a status is the node's answer, and much of it what members gossiped
/// (zones, versions, addresses, failures): whatever answers on the admin port, or any member,
/// may put terminal controls in it. Each line goes out through ``PrintableText/escaped(_:limit:)``,
/// and the padded columns are escaped before they are padded.
struct StatusReport {
    let text: String

    init(_ status: NodeStatus, app only: String?, members showMembers: Bool, now: UInt64) {
        let count = { (state: String) in status.members.filter { $0.state == state }.count }
        let live = count("alive") + count("suspect")
        var lines = ["fleet seen from \(status.`self`.id.prefix(8)) (\(status.`self`.address)), channel \(status.channel): "
            + "\(live) live (\(count("suspect")) suspect), \(count("dead")) dead, \(count("left")) left"]
        for app in status.apps where only == nil || app.app == only {
            var head = "\(app.app)  "
            if let latest = app.latest {
                let what = latest.kind == "withdraw" ? "a withdrawal back to \(latest.version)" : "\(latest.version)"
                head += "newest notice \(what) (#\(latest.sequence)), accepted \(Self.age(now > latest.receivedAt ? now - latest.receivedAt : 0)) ago"
            } else {
                head += "no notice accepted yet"
            }
            if let keyId = app.keyId { head += "; key \(keyId) (epoch \(app.keyEpoch ?? 0))" }
            lines.append(head)
            if let error = status.errors?[app.app] { lines.append("  this node cannot update: \(error)") }
            if let f = app.freshness { lines.append("  " + Self.freshness(f, held: app.latest?.sequence ?? 0)) }
            var rows: [(version: String, sequence: String, nodes: Int)] = app.spread.map { ($0.version, "#\($0.sequence)", $0.nodes) }
            if app.without > 0 { rows.append(("(not installed)", "", app.without)) }
            for row in rows {
                // The counts are the node's answer, not checked here: a share outside 0...1 (a
                // buggy or hostile node) is drawn clamped instead of trapping on a negative bar.
                let share = live == 0 ? 0 : min(1, max(0, Double(row.nodes) / Double(live)))
                let filled = Int((share * 20).rounded())
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: 20 - filled)
                let nodes = String(row.nodes).leftPadded(5) + (row.nodes == 1 ? " node " : " nodes")
                let percent = String(format: "%5.1f%%", share * 100)
                lines.append("  \(Self.shown(row.version).padding(15)) \(row.sequence.padding(6)) \(nodes)  \(percent)  \(bar)")
            }
            var notes: [String] = []
            if app.downloading > 0 { notes.append("\(app.downloading) downloading") }
            if app.failed > 0 { notes.append("\(app.failed) failed an install") }
            if let newest = app.accepted.first, newest.nodes < live { notes.append("\(newest.nodes) of \(live) have heard of #\(newest.sequence)") }
            let epochs = status.members.filter { $0.state == "alive" || $0.state == "suspect" }
                .compactMap { m in m.apps.first { $0.app == app.app }.map { $0.epoch ?? 0 } }
            if let epoch = app.keyEpoch, case let lagging = epochs.filter({ $0 < epoch }).count, lagging > 0 {
                notes.append("\(lagging) of \(live) still pin an older key")
            }
            if !notes.isEmpty { lines.append("  " + notes.joined(separator: ", ")) }
            lines += Self.mirrorLines(status.mirrors ?? [], app: app.app)
        }
        if let only, !status.apps.contains(where: { $0.app == only }) {
            lines.append("\(only): not an app this node trusts")
        }
        if showMembers {
            lines.append("")
            lines.append("  id        address                 state    zone      apps (installed; downloading %; failed; newest notice)")
            for m in status.members {
                let apps = m.apps.map { a -> String in
                    var text = "\(a.app) \(a.installed ?? "-")"
                    if let p = a.progress { text += " ↓\(p)%" }
                    if let f = a.failed { text += " failed \(f)" }
                    if a.installed != a.version { text += " (notice \(a.version))" }
                    if let epoch = a.epoch { text += " key epoch \(epoch)" }
                    return text
                }.joined(separator: ", ") + (m.fromPeers.map { "  \($0)% from peers" } ?? "")
                lines.append("  \(Self.shown(m.id.prefix(8)))  \(Self.shown(m.address).padding(23))  \(Self.shown(m.state).padding(7))  "
                    + "\(Self.shown(m.zone ?? "-").padding(8))  \(apps)")
            }
        }
        text = lines.map { Self.shown($0) }.joined(separator: "\n")
    }

    /// A string from the node as it may reach the terminal (``PrintableText``).
    static func shown(_ text: some StringProtocol) -> String { PrintableText.escaped(text) }

    static func freshness(_ f: NodeStatus.FreshnessView, held: UInt64) -> String {
        let age = f.age.map { Self.age($0) + " ago" } ?? ""
        switch f.state {
        case "confirmed":
            return "freshness: confirmed, the origin signed #\(f.originSequence ?? 0) as the newest \(age)"
        case "behind":
            return "freshness: BEHIND, the origin signed #\(f.originSequence ?? 0) as the newest \(age), this node holds #\(held): still catching up, or kept on old notices by its peers"
        default:
            let newest = f.age.map { "the newest is from \(Self.age($0)) ago" } ?? "none has reached this node"
            return "freshness: UNCONFIRMED, no origin timestamp younger than \(Self.age(f.threshold)) (\(newest)): this node cannot tell whether it is kept on old notices"
        }
    }

    static func age(_ seconds: UInt64) -> String {
        switch seconds {
        case ..<120: return "\(seconds) s"
        case ..<7200: return "\(seconds / 60) min"
        case ..<172_800: return "\(seconds / 3600) h"
        default: return "\(seconds / 86_400) d"
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
